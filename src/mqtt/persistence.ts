// Persistent MQTT sessions in SQLite: the subscriptions of a client that asked for its session
// to be kept (clean session false, or an MQTT 5 session expiry), and the QoS 1/2 messages for it
// while it is away, in order, bounded per client in count and bytes (oldest dropped, counted).
// Rows outlive the process, so a session comes back after a router restart too.

import type { QoS } from 'mqtt-packet';
import type { Db } from '../store/database.ts';
import type { OutboundMessage } from './outbound.ts';
import type { FilterOptions } from './subscriptions.ts';

export interface StoredSession {
  readonly subscriptions: [string, FilterOptions][];
  /** Messages dropped from the queue for its bounds, since the session began. */
  readonly dropped: number;
}

export interface QueueBounds {
  maxMessages: number;
  maxBytes: number;
}

interface QueueRow {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: number;
  properties: string | null;
  expires_at: number | null;
}

export class MqttSessionStore {
  readonly #db: Db;
  readonly #get;
  readonly #upsert;
  readonly #expire;
  readonly #delete;
  readonly #purge;
  readonly #enqueue;
  readonly #size;
  readonly #dropOldest;
  readonly #countDropped;
  readonly #queue;
  readonly #clearQueue;
  readonly #count;

  constructor(db: Db) {
    this.#db = db;
    this.#get = db.prepare<[string, number], { subscriptions: string; dropped: number }>(
      'SELECT subscriptions, dropped FROM mqtt_session WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)',
    );
    this.#upsert = db.prepare(
      'INSERT INTO mqtt_session (key, subscriptions, expires_at) VALUES (?, ?, NULL) ON CONFLICT (key) DO UPDATE SET subscriptions = excluded.subscriptions',
    );
    this.#expire = db.prepare('UPDATE mqtt_session SET expires_at = ? WHERE key = ?');
    this.#delete = db.prepare('DELETE FROM mqtt_session WHERE key = ?');
    this.#purge = db.prepare('DELETE FROM mqtt_session WHERE expires_at IS NOT NULL AND expires_at <= ?');
    // Only for a session still kept: one ended meanwhile (clean start, expiry, kill) takes nothing.
    this.#enqueue = db.prepare(`INSERT INTO mqtt_queue (key, topic, payload, qos, retain, properties, expires_at)
      SELECT @key, @topic, @payload, @qos, @retain, @properties, @expiresAt WHERE EXISTS (SELECT 1 FROM mqtt_session WHERE key = @key)`);
    this.#size = db.prepare<[string], { n: number; bytes: number | null }>(
      'SELECT COUNT(*) AS n, SUM(length(payload)) AS bytes FROM mqtt_queue WHERE key = ?',
    );
    this.#dropOldest = db.prepare(
      'DELETE FROM mqtt_queue WHERE id = (SELECT id FROM mqtt_queue WHERE key = ? ORDER BY id LIMIT 1)',
    );
    this.#countDropped = db.prepare('UPDATE mqtt_session SET dropped = dropped + ? WHERE key = ?');
    this.#queue = db.prepare<[string], QueueRow>(
      'SELECT topic, payload, qos, retain, properties, expires_at FROM mqtt_queue WHERE key = ? ORDER BY id',
    );
    this.#clearQueue = db.prepare('DELETE FROM mqtt_queue WHERE key = ?');
    this.#count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM mqtt_session');
  }

  /** The kept session, unless it expired (`now` in ms since the epoch). */
  load(key: string, now: number): StoredSession | undefined {
    const row = this.#get.get(key, now);
    if (row === undefined) {
      this.#delete.run(key); // an expired one goes now
      return undefined;
    }
    return { subscriptions: JSON.parse(row.subscriptions) as [string, FilterOptions][], dropped: row.dropped };
  }

  /** Creates or updates the session's subscriptions; it does not expire while connected. */
  save(key: string, subscriptions: Iterable<[string, FilterOptions]>): void {
    this.#upsert.run(key, JSON.stringify([...subscriptions]));
    this.#expire.run(null, key);
  }

  /** The client went away: the session ends at `expiresAt` (ms since the epoch). */
  expireAt(key: string, expiresAt: number): void {
    this.#expire.run(expiresAt, key);
  }

  delete(key: string): void {
    this.#delete.run(key);
  }

  /** Sessions kept, of every realm and listener. */
  count(): number {
    return this.#count.get()!.n;
  }

  /** Forgets every session whose client stayed away past its expiry. */
  purgeExpired(now: number): number {
    return this.#purge.run(now).changes;
  }

  /** Queues messages for an absent client; returns how many old ones the bounds pushed out. */
  enqueue(key: string, messages: readonly OutboundMessage[], bounds: QueueBounds): number {
    if (messages.length === 0) return 0;
    return this.#db.transaction(() => {
      for (const m of messages) {
        const properties = m.properties === undefined ? null : JSON.stringify(m.properties);
        this.#enqueue.run({
          key,
          topic: m.topic,
          payload: Buffer.from(m.payload),
          qos: m.qos,
          retain: m.retain ? 1 : 0,
          properties,
          expiresAt: m.expiresAt ?? null,
        });
      }
      let dropped = 0;
      for (;;) {
        const { n, bytes } = this.#size.get(key)!;
        if (n <= bounds.maxMessages && (bytes ?? 0) <= bounds.maxBytes) break;
        this.#dropOldest.run(key);
        dropped++;
      }
      if (dropped > 0) this.#countDropped.run(dropped, key);
      return dropped;
    })();
  }

  /** Takes the queued messages not expired by `now`, oldest first (the connection's to deliver now). */
  take(key: string, now: number): OutboundMessage[] {
    return this.#db.transaction(() => {
      const rows = this.#queue.all(key);
      this.#clearQueue.run(key);
      return rows
        .filter((r) => r.expires_at === null || r.expires_at > now)
        .map((r) => ({
          topic: r.topic,
          payload: new Uint8Array(r.payload),
          qos: r.qos as QoS,
          retain: r.retain === 1,
          ...(r.properties !== null && {
            properties: JSON.parse(r.properties, bufferReviver) as OutboundMessage['properties'],
          }),
          ...(r.expires_at !== null && { expiresAt: r.expires_at }),
        }));
    })();
  }
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
