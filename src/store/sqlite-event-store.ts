// Retained events and event history in SQLite. The payload (args, kwargs, details, filter) is
// stored as CBOR, which keeps binary values and integers exactly.

import { errorText } from '../log.ts';
import { UnstorableEventError, type EventStore, type StoredEvent } from '../router/event-store.ts';
import type { HistoryAdoption, HistoryBounds, TopicPattern } from '../router/history-bounds.ts';
import { cbor } from '../serializers/index.ts';
import type { Dict } from '../wamp/messages.ts';
import type { Histogram } from '../router/metrics.ts';
import { translate, type Db } from './database.ts';
import { SqliteHistory, type HistoryRow as Row } from './sqlite-history.ts';

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
  readonly #history: SqliteHistory;
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
    this.#history = new SqliteHistory(db);
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

  /** Event rows history reads have pulled out of SQLite so far (see SqliteHistory). */
  get historyRowsExamined(): number {
    return this.#history.rowsExamined;
  }

  /** Topic rows history reads have pulled out of SQLite so far. */
  get historyTopicsExamined(): number {
    return this.#history.topicsExamined;
  }

  append(realm: string, e: StoredEvent, bounds: HistoryBounds, now = e.timestamp): void {
    const payload = storable(e);
    const row = { topic: e.topic, publication: e.publication, timestamp: e.timestamp, payload };
    this.#write(() => this.#db.transaction(() => this.#history.append(realm, row, bounds, now))());
  }

  readHistory(
    realm: string,
    pattern: TopicPattern,
    limit: number,
    accept: (event: StoredEvent) => boolean = () => true,
  ): StoredEvent[] {
    const take = (row: Row): StoredEvent | undefined => {
      const e = decode(row);
      return accept(e) ? e : undefined;
    };
    return this.#run(() => this.#history.read(realm, pattern, limit, take)).reverse();
  }

  adoptHistory(realm: string, ruleOf: (topic: string) => HistoryBounds | undefined, now: number): HistoryAdoption {
    return this.#run(() => this.#db.transaction(() => this.#history.adopt(realm, ruleOf, now))());
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
