// The outbox's SQL (tables: migration 6 in src/store/migrations.ts), prepared once per database.

import type { Db } from '../store/database.ts';

/** Rows inserted by one statement when a commit has that many (fewer statement runs per row). */
export const INSERT_BATCH = 32;

/** One event waiting for a bridge. */
export interface OutboxEntry {
  readonly id: number;
  /** The WAMP topic it was published to. */
  readonly topic: string;
  /** Where it goes on the remote side (an MQTT topic; '' for a webhook). */
  readonly dest: string;
  readonly qos: number;
  /** The event (CBOR; see payload.ts). */
  readonly payload: Uint8Array;
  /** Milliseconds since the epoch, when it was put. */
  readonly created: number;
}

export interface DeadLetter extends OutboxEntry {
  readonly failed: number;
  readonly reason: string;
}

export function prepareOutbox(db: Db) {
  return {
    insert: db.prepare(
      'INSERT INTO bridge_outbox (bridge, topic, dest, qos, payload, created) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    insertBatch: db.prepare(
      `INSERT INTO bridge_outbox (bridge, topic, dest, qos, payload, created) VALUES ${Array(INSERT_BATCH).fill('(?, ?, ?, ?, ?, ?)').join(', ')}`,
    ),
    removeMany: db.prepare<[string], { bytes: number; bridge: string }>(
      'DELETE FROM bridge_outbox WHERE id IN (SELECT value FROM json_each(?)) RETURNING length(payload) AS bytes, bridge',
    ),
    relaxed: db.prepare('PRAGMA synchronous = NORMAL'),
    full: db.prepare('PRAGMA synchronous = FULL'),
    remove: db.prepare<[number], { bytes: number; bridge: string }>(
      'DELETE FROM bridge_outbox WHERE id = ? RETURNING length(payload) AS bytes, bridge',
    ),
    next: db.prepare<[string, number, number], OutboxEntry>(
      'SELECT id, topic, dest, qos, payload, created FROM bridge_outbox WHERE bridge = ? AND id > ? ORDER BY id LIMIT ?',
    ),
    oldestRows: db.prepare<[string, number], { id: number; bytes: number }>(
      'SELECT id, length(payload) AS bytes FROM bridge_outbox WHERE bridge = ? ORDER BY id LIMIT ?',
    ),
    expired: db.prepare<[string, number], { id: number; bytes: number }>(
      'SELECT id, length(payload) AS bytes FROM bridge_outbox WHERE bridge = ? AND created < ? ORDER BY id',
    ),
    oldest: db.prepare<[string], { created: number }>(
      'SELECT created FROM bridge_outbox WHERE bridge = ? ORDER BY id LIMIT 1',
    ),
    size: db.prepare<[string], { n: number; bytes: number | null }>(
      'SELECT count(*) AS n, sum(length(payload)) AS bytes FROM bridge_outbox WHERE bridge = ?',
    ),
    toDead: db.prepare(
      'INSERT INTO bridge_dead (bridge, topic, dest, qos, payload, created, failed, reason) SELECT bridge, topic, dest, qos, payload, created, ?, ? FROM bridge_outbox WHERE id = ?',
    ),
    trimDead: db.prepare(
      'DELETE FROM bridge_dead WHERE bridge = ? AND id <= (SELECT id FROM bridge_dead WHERE bridge = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
    ),
    listDead: db.prepare<[string, number], DeadLetter>(
      'SELECT id, topic, dest, qos, payload, created, failed, reason FROM bridge_dead WHERE bridge = ? ORDER BY id LIMIT ?',
    ),
    countDead: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM bridge_dead WHERE bridge = ?'),
    replayAll: db.prepare(
      'INSERT INTO bridge_outbox (bridge, topic, dest, qos, payload, created) SELECT bridge, topic, dest, qos, payload, created FROM bridge_dead WHERE bridge = ? ORDER BY id',
    ),
    deleteAllDead: db.prepare('DELETE FROM bridge_dead WHERE bridge = ?'),
    replayOne: db.prepare(
      'INSERT INTO bridge_outbox (bridge, topic, dest, qos, payload, created) SELECT bridge, topic, dest, qos, payload, created FROM bridge_dead WHERE bridge = ? AND id = ?',
    ),
    deleteDead: db.prepare('DELETE FROM bridge_dead WHERE bridge = ? AND id = ?'),
  };
}

export type OutboxStatements = ReturnType<typeof prepareOutbox>;
