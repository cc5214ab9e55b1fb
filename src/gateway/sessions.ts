// WAMP sessions kept between HTTP requests, one per identity (and credential, and client
// address where it matters). A request from a known identity then skips HELLO and WELCOME, and
// Basic's Argon2id check: the session is the proof that these credentials worked. Nothing is
// trusted longer than the router trusts it: a deleted or re-keyed user, a realm deleted, ends
// the session (security/revocation.ts), and the next request logs in again. Grants are checked
// per action anyway, so a revoked grant refuses the very next request.

import type { PeerAcceptor, TransportInfo } from '../router/peer.ts';
import { ClientSession, type Credentials, type Welcome } from './client.ts';

export type Opened = { session: ClientSession; welcome: Welcome } | { abort: string; message: string };

interface Entry {
  readonly opening: Promise<Opened>;
  /** Once open: what `opening` resolved to. */
  opened: { session: ClientSession; welcome: Welcome } | undefined;
  lastUsed: number;
}

export class SessionPool {
  readonly #acceptor: PeerAcceptor;
  readonly #max: number;
  readonly #idleMs: number;
  readonly #entries = new Map<string, Entry>();
  readonly #timer: NodeJS.Timeout;
  /** The key inserted or moved last into #entries (so the last in its order), if still there. */
  #lastKey: string | undefined;

  constructor(acceptor: PeerAcceptor, options: { maxSessions: number; idleMs: number }) {
    this.#acceptor = acceptor;
    this.#max = options.maxSessions;
    this.#idleMs = options.idleMs;
    this.#timer = setInterval(() => this.#sweep(Date.now()), Math.max(1000, this.#idleMs / 2));
    this.#timer.unref();
  }

  /**
   * The open session for `key` now, without a promise (most requests: an identity seen
   * before); undefined when there is none, or it is still opening (then get() waits for it).
   */
  ready(key: string): { session: ClientSession; welcome: Welcome } | undefined {
    const found = this.#entries.get(key);
    if (found?.opened === undefined || !found.opened.session.isOpen) return undefined;
    this.#touch(key, found);
    return found.opened;
  }

  /** The session for `key`, opened with `credentials` when there is none. */
  get(key: string, realm: string, info: TransportInfo, credentials: Credentials): Promise<Opened> {
    const found = this.#entries.get(key);
    if (found !== undefined && (found.opened === undefined || found.opened.session.isOpen)) {
      this.#touch(key, found);
      return found.opening;
    }
    const session = new ClientSession(this.#acceptor, info, credentials);
    const entry: Entry = {
      opened: undefined,
      lastUsed: Date.now(),
      opening: session.open(realm).then((w): Opened => {
        if ('abort' in w) {
          if (this.#entries.get(key) === entry) this.#entries.delete(key);
          return w;
        }
        entry.opened = { session, welcome: w };
        return entry.opened;
      }),
    };
    session.onClosed(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    this.#entries.set(key, entry);
    this.#lastKey = key;
    while (this.#entries.size > this.#max) {
      const [oldest, e] = this.#entries.entries().next().value!;
      this.#entries.delete(oldest);
      e.opened?.session.close();
    }
    return entry.opening;
  }

  #touch(key: string, entry: Entry): void {
    entry.lastUsed = Date.now();
    // Most recently used last: the first entries are the ones to close when full. (Many
    // requests in a row are one identity's: it is already last then.)
    if (key !== this.#lastKey) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      this.#lastKey = key;
    }
  }

  /**
   * A session of its own, not pooled (an event stream: its subscription and its backpressure
   * are the stream's). `buffered`: the bytes the stream holds unwritten.
   */
  async dedicated(
    realm: string,
    info: TransportInfo,
    credentials: Credentials,
    buffered: () => number,
  ): Promise<Opened> {
    const session = new ClientSession(this.#acceptor, info, credentials, buffered);
    const w = await session.open(realm);
    return 'abort' in w ? w : { session, welcome: w };
  }

  get size(): number {
    return this.#entries.size;
  }

  #sweep(now: number): void {
    for (const [key, e] of this.#entries) {
      if (now - e.lastUsed < this.#idleMs || e.opened?.session.busy === true) continue;
      this.#entries.delete(key);
      e.opened?.session.close();
    }
  }

  close(): void {
    clearInterval(this.#timer);
    for (const e of this.#entries.values()) e.opened?.session.close();
    this.#entries.clear();
  }
}
