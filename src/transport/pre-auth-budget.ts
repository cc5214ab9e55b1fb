// Limits for connections that have not logged in yet. A stranger's HELLO or AUTHENTICATE is
// small, so before WELCOME a transport accepts only small frames (preAuthMaxMessageSize) and,
// across all such connections of the router together, buffers at most a fixed number of bytes
// of unfinished frames (this budget). Without both, a few hundred connections that each send
// most of a maximal first frame and stall make the router hold gigabytes for nobody.
//
// RawSocket reserves what it is about to buffer, frame by frame. A WebSocket cannot: uWebSockets.js
// reassembles a message natively, up to the listener's maxMessageSize, and shows it only when
// complete. So each WebSocket that has not logged in reserves that worst case from the upgrade
// to WELCOME or close (reserveConnection, websocket-admission.ts), from a budget of their own
// (limits.preAuthWebSocketBytes): a share is large, and RawSocket logins must keep room for a
// HELLO that arrives in pieces. At most perAddress shares come from one address, so a single
// host cannot spend the whole budget.

import { silentLogger, type Logger } from '../log.ts';
import { clientDefaults } from '../net/client-limits.ts';

// A refusal can be caused over and over by a flood; one line per interval says it is happening.
const LOG_INTERVAL_MS = 10_000;

/** Why reserveConnection said no. */
export type ConnectionRefusal = 'budget' | 'address';

export class PreAuthBudget {
  readonly limitBytes: number;
  readonly perAddress: number;
  /** Bytes currently reserved by unfinished frames and pre-login WebSockets. */
  used = 0;
  /** Frames and connections refused since start because the budget (or an address's share) was spent. */
  refused = 0;
  readonly #log: Logger;
  readonly #connections = new Map<string, number>();
  #loggedAt = -Infinity;
  #unlogged = 0;

  constructor(options: { limitBytes?: number; perAddress?: number; logger?: Logger } = {}) {
    this.limitBytes = options.limitBytes ?? clientDefaults.preAuthBufferBytes;
    this.perAddress = options.perAddress ?? clientDefaults.preAuthConnectionsPerAddress;
    this.#log = options.logger ?? silentLogger;
  }

  /** Claims `bytes` for an unfinished frame; false (counted, logged now and then) when spent. */
  reserve(bytes: number, peer: string): boolean {
    if (this.used + bytes <= this.limitBytes) {
      this.used += bytes;
      return true;
    }
    this.#refuse(
      { peer, frame: bytes },
      'pre-authentication buffer budget spent: refusing a partial frame from a connection that has not logged in',
    );
    return false;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  /**
   * Claims `bytes` (the most the connection can make the router buffer before login) for one
   * connection from `address` (a bare IP); undefined when granted, else why not. Not counted:
   * the caller may wait and try again, and calls refused() when it gives up. Give a grant back
   * with releaseConnection, once.
   */
  reserveConnection(bytes: number, address: string): ConnectionRefusal | undefined {
    const held = this.#connections.get(address) ?? 0;
    if (held >= this.perAddress) return 'address';
    if (this.used + bytes > this.limitBytes) return 'budget';
    this.#connections.set(address, held + 1);
    this.used += bytes;
    return undefined;
  }

  /** Counts a connection refused for lack of budget, and logs it now and then. */
  refusedConnection(address: string, why: string): void {
    this.#refuse(
      { peer: address, why, per_address: this.perAddress },
      'pre-authentication budget spent: refusing a connection that has not logged in',
    );
  }

  releaseConnection(bytes: number, address: string): void {
    const held = this.#connections.get(address) ?? 0;
    if (held <= 1) this.#connections.delete(address);
    else this.#connections.set(address, held - 1);
    this.release(bytes);
  }

  #refuse(fields: Record<string, unknown>, message: string): void {
    this.refused++;
    const now = performance.now();
    if (now - this.#loggedAt < LOG_INTERVAL_MS) {
      this.#unlogged++;
      return;
    }
    this.#log.warn(
      { ...fields, used: this.used, budget: this.limitBytes, refused: this.refused, since_last_line: this.#unlogged },
      message,
    );
    this.#loggedAt = now;
    this.#unlogged = 0;
  }
}
