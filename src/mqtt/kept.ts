// The persistent side of one MQTT session: its row in SQLite (persistence.ts) and the session's
// unacknowledged QoS 1/2 messages and the QoS 2 identifiers it holds there. Failures of the synchronous writes are logged, not
// thrown: they run inside the router's fan-out, socket events and timers, and a failing disk
// must cost the messages, not the router.

import type { Logger } from '../log.ts';
import type { SessionParams } from './link.ts';
import type { MqttOptions } from './options.ts';
import type { MqttSessionStore, QueueBounds, SessionRecord, StoredMessage, StoredSession } from './persistence.ts';
import type { FilterOptions } from './subscriptions.ts';

export class KeptSession {
  readonly key: string;
  readonly #store: MqttSessionStore;
  readonly #bounds: QueueBounds;
  readonly #log: Logger;
  readonly #clientId: string;
  /** Until when the session is kept without its client (set by detach). */
  until = 0;
  /** The last row read back (readBack). */
  #readTo = 0;

  constructor(store: MqttSessionStore, key: string, options: MqttOptions, log: Logger, clientId: string) {
    this.key = key;
    this.#store = store;
    // In flight included: the disk holds the newest maxQueued a client has not acknowledged.
    this.#bounds = { maxMessages: options.maxQueued, maxBytes: options.maxQueuedBytes };
    this.#log = log;
    this.#clientId = clientId;
  }

  save(subscriptions: Iterable<[string, FilterOptions]>, record?: SessionRecord): void {
    this.#guard('cannot record subscriptions', () => this.#store.save(this.key, subscriptions, record));
  }

  /** Unacknowledged from now on: on disk at the next commit. */
  queue(message: StoredMessage): void {
    this.#store.queue(this.key, message, this.#bounds);
  }

  /**
   * What a connected client's queue left here for lack of room in memory, oldest first: rows
   * after those `held` in memory and after those read back before (rows are numbered in the
   * order they were queued; a read-back row whose deletion failed is not read again).
   */
  readBack(held: StoredMessage[], maxBytes: number): { messages: StoredMessage[]; more: boolean } {
    try {
      this.#store.flush(); // the rows of messages queued this turn are numbered at the commit
      let after = this.#readTo;
      for (const m of held) if (m.row !== undefined && m.row > after) after = m.row;
      const read = this.#store.after(this.key, after, maxBytes);
      const last = read.messages.at(-1)?.row;
      if (last !== undefined) this.#readTo = last;
      return read;
    } catch (err) {
      this.#log.error({ clientId: this.#clientId, err: (err as Error).message }, 'mqtt: cannot read the queue back');
      return { messages: [], more: false };
    }
  }

  /** Acknowledged (or dropped, expired): off the disk at the next commit. */
  settled(message: StoredMessage): void {
    this.#store.settled(message);
  }

  /** A QoS 2 identifier received and published: on disk at the next commit, so a resend after a restart is known. */
  hold(id: number): void {
    this.#store.hold(this.key, id);
  }

  /** Its PUBREL came: off the disk at the next commit. */
  release(id: number): void {
    this.#store.release(this.key, id);
  }

  /** The client went away: the session is kept until `until`. */
  detach(until: number): void {
    this.until = until;
    this.#guard('cannot record the session expiry', () => this.#store.expireAt(this.key, until));
  }

  delete(): void {
    this.#guard('cannot delete the session', () => this.#store.delete(this.key));
  }

  #guard(what: string, write: () => void): void {
    try {
      write();
    } catch (err) {
      this.#log.error({ clientId: this.#clientId, err: (err as Error).message }, `mqtt: ${what}`);
    }
  }
}

/**
 * The kept sessions' say on a CONNECT, once nothing else can refuse it: refused when it would be
 * one persistent session too many (a client replacing its own adds none), before anything
 * changes; else the session it resumes, or none, a clean start discarding the one kept.
 */
export function admit(
  options: MqttOptions,
  asked: Pick<SessionParams, 'cleanStart' | 'expiryMs'>,
  key: string,
  now: number,
): { refused: string } | { stored: StoredSession | undefined } {
  const store = options.sessions;
  if (store === undefined) return { stored: undefined };
  const kept = store.load(key, now);
  if (asked.expiryMs > 0 && kept === undefined && store.count() >= options.maxPersistentSessions)
    return { refused: `${options.maxPersistentSessions} persistent sessions are kept already` };
  if (kept === undefined || !asked.cleanStart) return { stored: kept };
  store.delete(key);
  return { stored: undefined };
}
