// Persistent MQTT sessions in SQLite: the subscriptions of a client that asked for its session
// to be kept (clean session false, or an MQTT 5 session expiry), what the session needs to come
// back at start (record), and every QoS 1/2 message for it the client has not acknowledged:
// written when the router hands it to the session, whether the client is connected or away,
// deleted on PUBACK / PUBCOMP; and the QoS 2 packet identifiers the session has received from
// its client and not yet seen released (PUBREL). Writes are group-committed per turn of the
// event loop (journal.ts). Rows outlive the process: a session and its messages survive a restart or a
// kill -9, and a restarted router queues for an absent client as a running one does.
//
// Bound per session: at most `maxMessages` rows and `maxBytes` of payload; over either, the
// oldest rows are dropped (counted in mqtt_session.dropped), checked at each commit against
// sizes kept in memory (read from SQLite once per session), so a fan-out to many sessions with
// long queues costs no count over each queue.

import type { QoS } from 'mqtt-packet';
import type { Db } from '../store/database.ts';
import { GroupCommit } from './journal.ts';
import type { OutboundMessage } from './outbound.ts';
import type { FilterOptions } from './subscriptions.ts';

export interface StoredSession {
  readonly subscriptions: [string, FilterOptions][];
  /** Messages dropped from the queue for its bounds, since the session began. */
  readonly dropped: number;
}

/** Who the session is and how its client spoke, to bring it back at start without the client. */
export interface SessionRecord {
  readonly realm: string;
  readonly clientId: string;
  readonly authid: string;
  readonly authrole: string;
  readonly authmethod: string;
  readonly authprovider: string;
  readonly v5: boolean;
  readonly expiryMs: number;
  /** The client's Maximum Packet Size; 0: none given. */
  readonly clientMaxPacket: number;
  readonly window: number;
}

/** A kept session to bring back at start. */
export interface RestorableSession {
  readonly key: string;
  readonly record: SessionRecord;
  readonly subscriptions: [string, FilterOptions][];
  /** When it ends if its client stays away; undefined: it was connected when the router stopped. */
  readonly expiresAt: number | undefined;
}

export interface QueueBounds {
  maxMessages: number;
  maxBytes: number;
}

/** A queued message and its row, so its acknowledgement can delete it. */
export type StoredMessage = OutboundMessage & { row?: number };

interface QueueRow {
  id: number;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: number;
  properties: string | null;
  expires_at: number | null;
}

export class MqttSessionStore {
  readonly #commit: GroupCommit;
  /** Keys handed out by restorable(): each session is brought back once, by one endpoint. */
  readonly #restored = new Set<string>();
  /** Sessions given rows in the commit being gathered, with their bounds. */
  #grown = new Map<string, QueueBounds>();
  /** Rows and payload bytes queued per session, once read; dropped when unsure (a failed commit). */
  #sizes = new Map<string, { n: number; bytes: number }>();
  readonly #get;
  readonly #all;
  readonly #upsert;
  readonly #expire;
  readonly #delete;
  readonly #purge;
  readonly #insert;
  readonly #size;
  readonly #dropOldest;
  readonly #countDropped;
  readonly #queue;
  readonly #queueAfter;
  readonly #deleteRow;
  readonly #count;
  readonly #hold;
  readonly #release;
  readonly #held;

  constructor(db: Db, onError: (err: Error, writes: number) => void = () => {}) {
    this.#commit = new GroupCommit(
      db,
      (err, writes) => {
        this.#sizes.clear(); // rolled back: read again
        onError(err, writes);
      },
      () => this.#boundGrown(),
    );
    this.#get = db.prepare<[string, number], { subscriptions: string; dropped: number }>(
      'SELECT subscriptions, dropped FROM mqtt_session WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)',
    );
    this.#all = db.prepare<[number], { key: string; subscriptions: string; record: string; expires_at: number | null }>(
      'SELECT key, subscriptions, record, expires_at FROM mqtt_session WHERE record IS NOT NULL AND (expires_at IS NULL OR expires_at > ?)',
    );
    this.#upsert = db.prepare(
      'INSERT INTO mqtt_session (key, subscriptions, expires_at, record) VALUES (@key, @subscriptions, NULL, @record) ON CONFLICT (key) DO UPDATE SET subscriptions = excluded.subscriptions, record = coalesce(excluded.record, record)',
    );
    this.#expire = db.prepare('UPDATE mqtt_session SET expires_at = ? WHERE key = ?');
    this.#delete = db.prepare('DELETE FROM mqtt_session WHERE key = ?');
    this.#purge = db.prepare('DELETE FROM mqtt_session WHERE expires_at IS NOT NULL AND expires_at <= ?');
    // Only for a session still kept: one ended meanwhile (clean start, expiry, kill) takes nothing.
    this.#insert = db.prepare(`INSERT INTO mqtt_queue (key, topic, payload, qos, retain, properties, expires_at)
      SELECT @key, @topic, @payload, @qos, @retain, @properties, @expiresAt WHERE EXISTS (SELECT 1 FROM mqtt_session WHERE key = @key)`);
    this.#size = db.prepare<[string], { n: number; bytes: number | null }>(
      'SELECT COUNT(*) AS n, SUM(length(payload)) AS bytes FROM mqtt_queue WHERE key = ?',
    );
    this.#dropOldest = db.prepare<[string], { bytes: number }>(
      'DELETE FROM mqtt_queue WHERE id = (SELECT id FROM mqtt_queue WHERE key = ? ORDER BY id LIMIT 1) RETURNING length(payload) AS bytes',
    );
    this.#countDropped = db.prepare('UPDATE mqtt_session SET dropped = dropped + ? WHERE key = ?');
    this.#queue = db.prepare<[string], QueueRow>(
      'SELECT id, topic, payload, qos, retain, properties, expires_at FROM mqtt_queue WHERE key = ? ORDER BY id',
    );
    this.#queueAfter = db.prepare<[string, number], QueueRow>(
      'SELECT id, topic, payload, qos, retain, properties, expires_at FROM mqtt_queue WHERE key = ? AND id > ? ORDER BY id',
    );
    this.#deleteRow = db.prepare<[number], { key: string; bytes: number }>(
      'DELETE FROM mqtt_queue WHERE id = ? RETURNING key, length(payload) AS bytes',
    );
    this.#count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM mqtt_session');
    // As #insert: a session ended meanwhile holds nothing (and the commit does not fail on it).
    this.#hold = db.prepare(`INSERT OR IGNORE INTO mqtt_qos2_received (key, id)
      SELECT @key, @id WHERE EXISTS (SELECT 1 FROM mqtt_session WHERE key = @key)`);
    this.#release = db.prepare('DELETE FROM mqtt_qos2_received WHERE key = ? AND id = ?');
    this.#held = db.prepare<[string], { id: number }>('SELECT id FROM mqtt_qos2_received WHERE key = ? ORDER BY id');
  }

  /** The kept session, unless it expired (`now` in ms since the epoch). */
  load(key: string, now: number): StoredSession | undefined {
    this.#commit.flush();
    const row = this.#get.get(key, now);
    if (row === undefined) {
      this.#forget(key); // an expired one goes now
      return undefined;
    }
    return { subscriptions: JSON.parse(row.subscriptions) as [string, FilterOptions][], dropped: row.dropped };
  }

  /** Kept sessions of `realm` with a record, not expired by `now`, not handed out before. */
  restorable(realm: string, now: number): RestorableSession[] {
    this.#commit.flush();
    const out: RestorableSession[] = [];
    for (const row of this.#all.all(now)) {
      if (this.#restored.has(row.key)) continue;
      let kept: RestorableSession;
      try {
        kept = {
          key: row.key,
          record: JSON.parse(row.record) as SessionRecord,
          subscriptions: JSON.parse(row.subscriptions) as [string, FilterOptions][],
          expiresAt: row.expires_at ?? undefined,
        };
      } catch {
        continue; // a row this code did not write: left for its client to resume, as before restarts were covered
      }
      if (kept.record.realm !== realm) continue;
      this.#restored.add(row.key);
      out.push(kept);
    }
    return out;
  }

  /** Creates or updates the session's subscriptions (and its record); it does not expire while connected. */
  save(key: string, subscriptions: Iterable<[string, FilterOptions]>, record?: SessionRecord): void {
    this.#commit.flush(); // rows queued for the session before it was recreated are not orphaned
    this.#upsert.run({
      key,
      subscriptions: JSON.stringify([...subscriptions]),
      record: record === undefined ? null : JSON.stringify(record),
    });
    this.#expire.run(null, key);
  }

  /** The client went away: the session ends at `expiresAt` (ms since the epoch). */
  expireAt(key: string, expiresAt: number): void {
    this.#expire.run(expiresAt, key);
  }

  delete(key: string): void {
    this.#commit.flush();
    this.#forget(key);
  }

  /** Sessions kept, of every realm and listener. */
  count(): number {
    return this.#count.get()!.n;
  }

  /** Forgets every session whose client stayed away past its expiry. */
  purgeExpired(now: number): number {
    this.#sizes.clear();
    return this.#purge.run(now).changes;
  }

  /** Writes `message` for the session at the next commit; its row id is set on it then. */
  queue(key: string, message: StoredMessage, bounds: QueueBounds): void {
    this.#grown.set(key, bounds);
    this.#commit.add(() => {
      const size = this.#sizeOf(key); // read before the row is added
      const payload = Buffer.from(message.payload);
      const result = this.#insert.run({
        key,
        topic: message.topic,
        payload,
        qos: message.qos,
        retain: message.retain ? 1 : 0,
        properties: message.properties === undefined ? null : JSON.stringify(message.properties),
        expiresAt: message.expiresAt ?? null,
      });
      if (result.changes === 0) return;
      size.n++;
      size.bytes += payload.length;
      message.row = Number(result.lastInsertRowid);
    });
  }

  /** The client acknowledged `message` (or it was dropped or expired): its row goes at the next commit. */
  settled(message: StoredMessage): void {
    this.#commit.add(() => {
      if (message.row !== undefined) this.#dropRow(message.row);
      message.row = undefined;
    });
  }

  /** Calls back once what was queued so far is on disk. */
  afterCommit(callback: () => void): void {
    this.#commit.afterCommit(callback);
  }

  /** Commits what is pending now (before the database closes). */
  flush(): void {
    this.#commit.flush();
  }

  /**
   * The messages the client has not acknowledged, oldest first, each with its row (deleted when
   * acknowledged); expired ones are deleted now.
   */
  pending(key: string, now: number): StoredMessage[] {
    this.#commit.flush();
    const out: StoredMessage[] = [];
    for (const r of this.#queue.all(key)) {
      if (r.expires_at !== null && r.expires_at <= now) {
        this.#dropRow(r.id);
        continue;
      }
      out.push(storedOf(r));
    }
    return out;
  }

  /** A QoS 2 PUBLISH with this identifier was published for the session's client: held at the next commit. */
  hold(key: string, id: number): void {
    this.#commit.add(() => this.#hold.run({ key, id }));
  }

  /** Its PUBREL came: the identifier is free again at the next commit. */
  release(key: string, id: number): void {
    this.#commit.add(() => this.#release.run(key, id));
  }

  /** The QoS 2 identifiers the session holds until their PUBREL. */
  held(key: string): number[] {
    this.#commit.flush();
    return this.#held.all(key).map((r) => r.id);
  }

  /**
   * The session's messages after row `after`, oldest first, while their payloads stay within
   * `maxBytes` (at least one): what a connected client's queue left in SQLite only, for lack of
   * room in memory (outbound.ts). `more`: others remain. Expired ones come too; the sender skips them.
   */
  after(key: string, after: number, maxBytes: number): { messages: StoredMessage[]; more: boolean } {
    this.#commit.flush(); // what was queued so far has its row
    const messages: StoredMessage[] = [];
    let bytes = 0;
    // Stopped early, the iterator is closed by the loop (the connection is free again at once).
    for (const r of this.#queueAfter.iterate(key, after)) {
      if (messages.length > 0 && bytes + r.payload.length > maxBytes) return { messages, more: true };
      bytes += r.payload.length;
      messages.push(storedOf(r));
    }
    return { messages, more: false };
  }

  #boundGrown(): void {
    const grown = this.#grown;
    this.#grown = new Map();
    for (const [key, bounds] of grown) this.#bound(key, bounds);
  }

  #bound(key: string, bounds: QueueBounds): void {
    const size = this.#sizeOf(key);
    let dropped = 0;
    while (size.n > bounds.maxMessages || size.bytes > bounds.maxBytes) {
      const row = this.#dropOldest.get(key);
      if (row === undefined) {
        this.#sizes.delete(key); // nothing left after all: read again next time
        break;
      }
      size.n--;
      size.bytes -= row.bytes;
      dropped++;
    }
    if (dropped > 0) this.#countDropped.run(dropped, key);
  }

  #sizeOf(key: string): { n: number; bytes: number } {
    let size = this.#sizes.get(key);
    if (size === undefined) {
      const row = this.#size.get(key)!;
      this.#sizes.set(key, (size = { n: row.n, bytes: row.bytes ?? 0 }));
    }
    return size;
  }

  #dropRow(id: number): void {
    const row = this.#deleteRow.get(id);
    const size = row === undefined ? undefined : this.#sizes.get(row.key);
    if (size === undefined || row === undefined) return;
    size.n--;
    size.bytes -= row.bytes;
  }

  /** Deletes the session (its queue with it, ON DELETE CASCADE). */
  #forget(key: string): void {
    this.#delete.run(key);
    this.#sizes.delete(key);
  }
}

function storedOf(r: QueueRow): StoredMessage {
  return {
    row: r.id,
    topic: r.topic,
    payload: new Uint8Array(r.payload),
    qos: r.qos as QoS,
    retain: r.retain === 1,
    ...(r.properties !== null && {
      properties: JSON.parse(r.properties, bufferReviver) as OutboundMessage['properties'],
    }),
    ...(r.expires_at !== null && { expiresAt: r.expires_at }),
  };
}

/** Correlation data went into JSON as Node writes a Buffer: { type: "Buffer", data: [...] }. */
function bufferReviver(_key: string, value: unknown): unknown {
  if (
    value !== null &&
    typeof value === 'object' &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  ) {
    return Buffer.from((value as { data: number[] }).data);
  }
  return value;
}
