// Schema migrations, applied in order at start; PRAGMA user_version records how many ran.
// Never edit a shipped migration: add a new one.
export const migrations: readonly string[] = [
  // 1: retained events and event history (advanced profile).
  `CREATE TABLE retained_event (
     realm TEXT NOT NULL, topic TEXT NOT NULL, publication INTEGER NOT NULL, timestamp INTEGER NOT NULL,
     payload BLOB NOT NULL, PRIMARY KEY (realm, topic)) WITHOUT ROWID;
   CREATE TABLE history_event (
     id INTEGER PRIMARY KEY AUTOINCREMENT, realm TEXT NOT NULL, topic TEXT NOT NULL,
     publication INTEGER NOT NULL, timestamp INTEGER NOT NULL, payload BLOB NOT NULL);
   CREATE INDEX history_event_topic ON history_event (realm, topic, id);`,
  // 2: the security model (SQL in src/security/tables.ts): realms, groups, users and their credentials
  // (salted hashes and derived keys only), grants and sources. JSON columns hold lists.
  `CREATE TABLE security_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
   -- Keys the mock challenges for unknown users (same salt for the same name, every time).
   INSERT INTO security_meta (key, value) VALUES ('mock_secret', randomblob(32));
   CREATE TABLE security_realm (
     uri TEXT PRIMARY KEY, description TEXT NOT NULL, authmethods TEXT NOT NULL,
     security_enabled INTEGER NOT NULL CHECK (security_enabled IN (0, 1)),
     allow_connections INTEGER NOT NULL CHECK (allow_connections IN (0, 1))) WITHOUT ROWID;
   CREATE TABLE security_group (
     realm TEXT NOT NULL REFERENCES security_realm (uri) ON DELETE CASCADE,
     name TEXT NOT NULL, description TEXT NOT NULL, meta TEXT NOT NULL,
     PRIMARY KEY (realm, name)) WITHOUT ROWID;
   CREATE TABLE security_group_parent (
     realm TEXT NOT NULL, name TEXT NOT NULL, parent TEXT NOT NULL, position INTEGER NOT NULL,
     PRIMARY KEY (realm, name, parent),
     FOREIGN KEY (realm, name) REFERENCES security_group (realm, name) ON DELETE CASCADE,
     FOREIGN KEY (realm, parent) REFERENCES security_group (realm, name) ON DELETE CASCADE) WITHOUT ROWID;
   CREATE INDEX security_group_parent_parent ON security_group_parent (realm, parent);
   CREATE TABLE security_user (
     realm TEXT NOT NULL REFERENCES security_realm (uri) ON DELETE CASCADE,
     authid TEXT NOT NULL, role TEXT, meta TEXT NOT NULL,
     PRIMARY KEY (realm, authid)) WITHOUT ROWID;
   CREATE TABLE security_user_group (
     realm TEXT NOT NULL, authid TEXT NOT NULL, grp TEXT NOT NULL, position INTEGER NOT NULL,
     PRIMARY KEY (realm, authid, grp),
     FOREIGN KEY (realm, authid) REFERENCES security_user (realm, authid) ON DELETE CASCADE,
     FOREIGN KEY (realm, grp) REFERENCES security_group (realm, name) ON DELETE CASCADE) WITHOUT ROWID;
   CREATE INDEX security_user_group_grp ON security_user_group (realm, grp);
   CREATE TABLE security_credential (
     realm TEXT NOT NULL, authid TEXT NOT NULL,
     method TEXT NOT NULL CHECK (method IN ('ticket', 'wampcra', 'wamp-scram')),
     data TEXT NOT NULL,
     PRIMARY KEY (realm, authid, method),
     FOREIGN KEY (realm, authid) REFERENCES security_user (realm, authid) ON DELETE CASCADE) WITHOUT ROWID;
   CREATE TABLE security_pubkey (
     realm TEXT NOT NULL, pubkey TEXT NOT NULL, authid TEXT NOT NULL, position INTEGER NOT NULL,
     PRIMARY KEY (realm, pubkey),
     FOREIGN KEY (realm, authid) REFERENCES security_user (realm, authid) ON DELETE CASCADE) WITHOUT ROWID;
   CREATE INDEX security_pubkey_user ON security_pubkey (realm, authid);
   CREATE TABLE security_grant (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     realm TEXT NOT NULL REFERENCES security_realm (uri) ON DELETE CASCADE,
     permissions TEXT NOT NULL, uri TEXT NOT NULL,
     match TEXT NOT NULL CHECK (match IN ('exact', 'prefix', 'wildcard')), principals TEXT NOT NULL);
   CREATE INDEX security_grant_realm ON security_grant (realm, id);
   CREATE TABLE security_source (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     realm TEXT NOT NULL REFERENCES security_realm (uri) ON DELETE CASCADE,
     cidr TEXT NOT NULL, authmethods TEXT NOT NULL, principals TEXT NOT NULL, description TEXT NOT NULL);
   CREATE INDEX security_source_realm ON security_source (realm, id);`,
  // 3: versions of replicated security records (mesh): last writer wins per key; a deleted
  // record keeps its version as a tombstone so an older copy elsewhere cannot resurrect it.
  `CREATE TABLE replica_version (
     key TEXT PRIMARY KEY, hlc TEXT NOT NULL, node TEXT NOT NULL, deleted INTEGER NOT NULL, hash TEXT NOT NULL) WITHOUT ROWID;`,
  // 4: a user can be disabled (refused at login, sessions ended) without losing its credentials.
  `ALTER TABLE security_user ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));`,
  // 5: persistent MQTT sessions (src/mqtt/persistence.ts): the subscriptions of a client that
  // asked for its session to be kept, and the QoS 1/2 messages queued while it is away.
  `CREATE TABLE mqtt_session (
     key TEXT PRIMARY KEY, subscriptions TEXT NOT NULL, expires_at INTEGER, dropped INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
   CREATE TABLE mqtt_queue (
     id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL REFERENCES mqtt_session (key) ON DELETE CASCADE,
     topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL,
     properties TEXT, expires_at INTEGER);
   CREATE INDEX mqtt_queue_key ON mqtt_queue (key, id);`,
  // 6: what a persistent MQTT session needs to come back at start, before its client does (its
  // identity, protocol and limits), so its subscriptions queue events while the client is away.
  `ALTER TABLE mqtt_session ADD COLUMN record TEXT;`,
  // 7: HTTP API gateway specs (src/gateway/spec.ts), realm state replicated like users and grants.
  `CREATE TABLE gateway_api (
     realm TEXT NOT NULL REFERENCES security_realm (uri) ON DELETE CASCADE,
     name TEXT NOT NULL, spec TEXT NOT NULL, PRIMARY KEY (realm, name)) WITHOUT ROWID;`,
  // 8: OAuth2 (src/oauth2/). Replicated records (public keys, refresh tokens, revoked access
  // tokens) as JSON by key; those that expire are forgotten everywhere once expired, version
  // included (replica_version.expires_at, ms since the epoch). The node's signing keys are local:
  // their private half never leaves this database (0600, see database.ts).
  `ALTER TABLE replica_version ADD COLUMN expires_at INTEGER;
   CREATE TABLE oauth2_record (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER) WITHOUT ROWID;
   CREATE INDEX oauth2_record_expiry ON oauth2_record (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE oauth2_signing_key (kid TEXT PRIMARY KEY, private_jwk TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;`,
  // 9: bridge outboxes (src/bridge/outbox.ts): events waiting for a remote system to confirm them,
  // in order per bridge (AUTOINCREMENT: an id is never reused, so a cursor past it stays valid),
  // and the ones it refused for good (dead letters), kept for listing and replay.
  `CREATE TABLE bridge_outbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT, bridge TEXT NOT NULL, topic TEXT NOT NULL, dest TEXT NOT NULL,
     qos INTEGER NOT NULL, payload BLOB NOT NULL, created INTEGER NOT NULL);
   CREATE INDEX bridge_outbox_bridge ON bridge_outbox (bridge, id);
   CREATE TABLE bridge_dead (
     id INTEGER PRIMARY KEY AUTOINCREMENT, bridge TEXT NOT NULL, topic TEXT NOT NULL, dest TEXT NOT NULL,
     qos INTEGER NOT NULL, payload BLOB NOT NULL, created INTEGER NOT NULL, failed INTEGER NOT NULL,
     reason TEXT NOT NULL);
   CREATE INDEX bridge_dead_bridge ON bridge_dead (bridge, id);`,
  // 10: each replicated record as its writer wrote and signed it (mesh trust), kept and passed
  // on unchanged: `hash` stays the hash of what this node holds, which may differ (references
  // dropped). Rows without it (written before) are written again by this node at start.
  `ALTER TABLE replica_version ADD COLUMN written TEXT;
   ALTER TABLE replica_version ADD COLUMN sig BLOB;`,
  // 11: bounded event history (src/store/sqlite-history.ts). Each kept topic gets a row naming the
  // history rule that keeps it and its newest event, so a rule's topics are counted and the least
  // recently published one dropped by index, not by reading the history; each event names its
  // rule too, so the rule's age trim is one indexed DELETE over all its topics. Reads merge the
  // covered topics through the existing (realm, topic, id) index (src/router/history-read.ts).
  // Rows kept before have no rule yet (''): the realm's rules claim or drop them when a realm
  // with history rules starts.
  `ALTER TABLE history_event ADD COLUMN rule TEXT NOT NULL DEFAULT '';
   CREATE INDEX history_event_age ON history_event (realm, rule, timestamp);
   CREATE TABLE history_topic (
     realm TEXT NOT NULL, topic TEXT NOT NULL, rule TEXT NOT NULL, last_id INTEGER NOT NULL,
     last_time INTEGER NOT NULL, PRIMARY KEY (realm, topic)) WITHOUT ROWID;
   CREATE INDEX history_topic_recent ON history_topic (realm, rule, last_id);
   CREATE INDEX history_topic_age ON history_topic (realm, rule, last_time);
   INSERT INTO history_topic (realm, topic, rule, last_id, last_time)
     SELECT realm, topic, '', MAX(id), MAX(timestamp) FROM history_event GROUP BY realm, topic;`,
  // 12: the QoS 2 packet identifiers a persistent MQTT session has received and not yet seen
  // released (PUBREL), part of the session's state (MQTT 4.1): a PUBLISH its client resends after
  // a reconnect or a restart is then not published a second time (src/mqtt/persistence.ts).
  `CREATE TABLE mqtt_qos2_received (
     key TEXT NOT NULL REFERENCES mqtt_session (key) ON DELETE CASCADE, id INTEGER NOT NULL,
     PRIMARY KEY (key, id)) WITHOUT ROWID;`,
];
