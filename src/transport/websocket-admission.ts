// Which WebSocket upgrades go ahead, given the pre-auth budget (pre-auth-budget.ts). Each
// WebSocket that has not logged in holds a worst-case share (the listener's maxMessageSize,
// what uWebSockets.js may buffer of its first message) from its upgrade to WELCOME or close.
// An upgrade that does not fit waits, in arrival order, for a share to come back: logins take
// milliseconds, so a burst of honest clients goes through one after another even when the
// budget covers a single share. One that waits longer than the handshake limit, or finds the
// waiting line full, is refused (503 with Retry-After from the caller). A waiting upgrade is
// an HTTP request not yet answered: no WebSocket frame of it is read, and whatever a client
// sends early is held by uWS's small HTTP buffer only.

import type uWS from '@btc-vision/uwebsockets.js';
import { clientDefaults } from '../net/client-limits.ts';
import type { PreAuthBudget } from './pre-auth-budget.ts';

/** Why an upgrade was refused: no share came back in time, or the waiting line was full. */
export type AdmissionRefusal = 'timeout' | 'queue_full';

export interface UpgradeRequest {
  readonly address: string;
  /** Called once a share is reserved: upgrade now, and release() the share at WELCOME or close. */
  admit(share: Share): void;
  refuse(why: AdmissionRefusal): void;
}

/** A pre-login connection's share of the budget, given back once (at WELCOME or at close). */
export interface Share {
  release(): void;
}

interface Waiting {
  readonly request: UpgradeRequest;
  readonly timer: NodeJS.Timeout;
}

export class WebSocketAdmission {
  readonly #budget: PreAuthBudget;
  readonly #bytes: number;
  readonly #waitMs: number;
  readonly #waiting: Waiting[] = [];
  readonly #waitingByAddress = new Map<string, number>();

  constructor(options: { budget: PreAuthBudget; bytes: number; waitMs: number }) {
    this.#budget = options.budget;
    this.#bytes = options.bytes;
    this.#waitMs = options.waitMs;
  }

  /** Admits (synchronously), queues or refuses; the returned function withdraws a waiting request. */
  request(request: UpgradeRequest): () => void {
    if (this.#waiting.length === 0 && this.#tryAdmit(request)) return () => undefined;
    const byAddress = this.#waitingByAddress.get(request.address) ?? 0;
    if (
      this.#waiting.length >= clientDefaults.preAuthWaitingUpgrades ||
      byAddress >= clientDefaults.preAuthWaitingUpgradesPerAddress
    ) {
      this.#refuse(request, 'queue_full');
      return () => undefined;
    }
    const waiting: Waiting = {
      request,
      timer: setTimeout(() => {
        if (this.#remove(waiting)) this.#refuse(request, 'timeout');
      }, this.#waitMs).unref(),
    };
    this.#waiting.push(waiting);
    this.#waitingByAddress.set(request.address, byAddress + 1);
    // Another address may fit where the first in line does not (its address is at its cap).
    this.#drain();
    return () => {
      if (this.#remove(waiting)) clearTimeout(waiting.timer);
    };
  }

  #tryAdmit(request: UpgradeRequest): boolean {
    if (this.#budget.reserveConnection(this.#bytes, request.address) !== undefined) return false;
    this.#grant(request);
    return true;
  }

  #grant(request: UpgradeRequest): void {
    let held = true;
    request.admit({
      release: () => {
        if (!held) return;
        held = false;
        this.#budget.releaseConnection(this.#bytes, request.address);
        this.#drain();
      },
    });
  }

  // In arrival order; an address at its cap is skipped, not allowed to block those behind it.
  #drain(): void {
    for (let i = 0; i < this.#waiting.length; ) {
      if (this.#budget.used + this.#bytes > this.#budget.limitBytes) return;
      const waiting = this.#waiting[i]!;
      if (this.#budget.reserveConnection(this.#bytes, waiting.request.address) !== undefined) {
        i++;
        continue;
      }
      // Out of the line before admit(), which may release (and drain) at once.
      this.#remove(waiting);
      clearTimeout(waiting.timer);
      this.#grant(waiting.request);
    }
  }

  #remove(waiting: Waiting): boolean {
    const at = this.#waiting.indexOf(waiting);
    if (at < 0) return false;
    this.#waiting.splice(at, 1);
    const address = waiting.request.address;
    const n = (this.#waitingByAddress.get(address) ?? 1) - 1;
    if (n === 0) this.#waitingByAddress.delete(address);
    else this.#waitingByAddress.set(address, n);
    return true;
  }

  #refuse(request: UpgradeRequest, why: AdmissionRefusal): void {
    this.#budget.refusedConnection(request.address, why);
    request.refuse(why);
  }
}

/**
 * Runs `upgrade(share)` once the upgrade request in `res` is admitted (at once, or later from
 * the waiting line), or answers 503 with Retry-After when it is refused; a client that goes
 * away while waiting gives its place back. Called inside uWS's upgrade handler, which then
 * returns: answers after that need cork().
 */
export function upgradeWhenAdmitted(
  res: uWS.HttpResponse,
  admission: WebSocketAdmission,
  address: string,
  upgrade: (share: Share) => void,
): void {
  let returned = false;
  let aborted = false;
  // Before anything is answered: uWS wants onAborted before a response that may come later.
  let withdraw = (): void => undefined;
  res.onAborted(() => {
    aborted = true;
    withdraw();
  });
  withdraw = admission.request({
    address,
    admit: (share) => {
      if (aborted) return share.release();
      if (returned) res.cork(() => upgrade(share));
      else upgrade(share);
    },
    refuse: (why) => {
      if (aborted) return;
      const reply = () =>
        res
          .writeStatus('503 Service Unavailable')
          .writeHeader('Retry-After', String(clientDefaults.preAuthRetryAfterSec))
          .writeHeader('Content-Type', 'text/plain')
          .end(
            why === 'queue_full'
              ? 'too many connections are waiting to log in; retry later\n'
              : 'too many connections are logging in; retry later\n',
            true,
          );
      if (returned) res.cork(reply);
      else reply();
    },
  });
  returned = true;
}
