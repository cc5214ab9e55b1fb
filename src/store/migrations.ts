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
];
