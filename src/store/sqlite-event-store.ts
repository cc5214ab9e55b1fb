// Retained events and event history in SQLite. The payload (args, kwargs, details, filter) is
// stored as CBOR, which keeps binary values and integers exactly.

import { errorText } from '../log.ts';
import { UnstorableEventError, type EventStore, type StoredEvent } from '../router/event-store.ts';
import { cbor } from '../serializers/index.ts';
import type { Dict } from '../wamp/messages.ts';
import type { Histogram } from '../router/metrics.ts';
import { translate, type Db } from './database.ts';

interface Row {
  topic: string;
  publication: number;
  timestamp: number;
  payload: Uint8Array;
}
interface Payload {
  args?: unknown[];
  kwargs?: Dict;
  details: Dict;
  filter?: Dict;
}

export class SqliteEventStore implements EventStore {
  readonly #db: Db;
  readonly #retain;
  readonly #retained;
  readonly #unretain;
  readonly #allRetained;
  readonly #append;
  readonly #trimCount;
  readonly #trimAge;
  readonly #history;
  readonly #realmHistory;
  readonly #commits: Histogram | undefined;

  /** `commits`: where the time of each write (a fsynced commit) is observed, in seconds. */
  constructor(db: Db, commits?: Histogram) {
    this.#db = db;
    this.#commits = commits;
    this.#retain = db.prepare(
      'INSERT OR REPLACE INTO retained_event (realm, topic, publication, timestamp, payload) VALUES (?, ?, ?, ?, ?)',
    );
    this.#unretain = db.prepare('DELETE FROM retained_event WHERE realm = ? AND topic = ?');
    this.#retained = db.prepare<[string, string], Row>(
      'SELECT topic, publication, timestamp, payload FROM retained_event WHERE realm = ? AND topic = ?',
    );
    this.#allRetained = db.prepare<[string], Row>(
      'SELECT topic, publication, timestamp, payload FROM retained_event WHERE realm = ?',
    );
    this.#append = db.prepare(
      'INSERT INTO history_event (realm, topic, publication, timestamp, payload) VALUES (?, ?, ?, ?, ?)',
    );
    this.#trimCount = db.prepare(`DELETE FROM history_event WHERE realm = ? AND topic = ? AND id <= (
      SELECT id FROM history_event WHERE realm = ? AND topic = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`);
    this.#trimAge = db.prepare('DELETE FROM history_event WHERE realm = ? AND topic = ? AND timestamp < ?');
    this.#realmHistory = db.prepare<[string], Row>(
      'SELECT topic, publication, timestamp, payload FROM history_event WHERE realm = ? ORDER BY id',
    );
    this.#history = db.prepare<[string, string, number], Row>(
      'SELECT topic, publication, timestamp, payload FROM (SELECT * FROM history_event WHERE realm = ? AND topic = ? ORDER BY id DESC LIMIT ?) ORDER BY id',
    );
  }

  retain(realm: string, e: StoredEvent): void {
    const payload = storable(e);
    this.#write(() => this.#retain.run(realm, e.topic, e.publication, e.timestamp, payload));
  }

  unretain(realm: string, topic: string): void {
    this.#run(() => this.#unretain.run(realm, topic));
  }

  retained(realm: string, topic: string): StoredEvent | undefined {
    const row = this.#run(() => this.#retained.get(realm, topic));
    return row === undefined ? undefined : decode(row);
  }

  allRetained(realm: string): Iterable<StoredEvent> {
    return this.#run(() => this.#allRetained.all(realm)).map(decode);
  }

  append(realm: string, e: StoredEvent, limit: number, maxAgeMs: number): void {
    const payload = storable(e);
    this.#write(() =>
      this.#db.transaction(() => {
        this.#append.run(realm, e.topic, e.publication, e.timestamp, payload);
        this.#trimCount.run(realm, e.topic, realm, e.topic, limit);
        this.#trimAge.run(realm, e.topic, e.timestamp - maxAgeMs);
      })(),
    );
  }

  history(realm: string, topic: string, limit: number): StoredEvent[] {
    return this.#run(() => this.#history.all(realm, topic, limit)).map(decode);
  }

  historyMatching(realm: string, matches: (topic: string) => boolean): StoredEvent[] {
    // History is bounded per topic by the realm's rules, so reading a realm's history is bounded too.
    return this.#run(() => this.#realmHistory.all(realm))
      .filter((row) => matches(row.topic))
      .map(decode);
  }

  #write(fn: () => unknown): void {
    if (this.#commits === undefined) {
      this.#run(fn);
      return;
    }
    const t0 = performance.now();
    this.#run(fn);
    this.#commits.observe((performance.now() - t0) / 1000);
  }

  #run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw translate(err, this.#db.name);
    }
  }
}

/**
 * The event's payload as stored. One that CBOR cannot hold (a peer's payload nested deeper than
 * the encoder's stack allows) is an UnstorableEventError, which the Broker expects, not a
 * RangeError from deep inside the encoder, which could escape from a lost session's testament
 * (published as the transport reports the close) into the event loop and end the process.
 */
function storable(e: StoredEvent): Uint8Array {
  try {
    return encode(e);
  } catch (err) {
    throw new UnstorableEventError(`the event cannot be stored (retained or kept in history): ${errorText(err)}`);
  }
}

function encode(e: StoredEvent): Uint8Array {
  const payload: Payload = { details: e.details };
  if (e.args !== undefined) payload.args = e.args;
  if (e.kwargs !== undefined) payload.kwargs = e.kwargs;
  if (e.filter !== undefined) payload.filter = e.filter;
  return cbor.encode([payload]);
}

function decode(row: Row): StoredEvent {
  const [p] = cbor.decode(row.payload) as [Payload];
  return {
    topic: row.topic,
    publication: row.publication,
    timestamp: row.timestamp,
    details: p.details,
    ...(p.args !== undefined && { args: p.args }),
    ...(p.kwargs !== undefined && { kwargs: p.kwargs }),
    ...(p.filter !== undefined && { filter: p.filter }),
  };
}
