// The peer's preamble, from the first octets of a link connection (links/connection.ts):
// collected until checkPreamble (links/framing.ts) can classify it, and what a bad one is
// answered with, so that the other side fails clearly.

import { buildHandshakeError, HandshakeErrorCode } from '../../transport/rawsocket-framing.ts';
import type { CloseCode } from './auth.ts';
import type { Direction } from './connection-state.ts';
import { checkPreamble, foreignPeerReason, PREAMBLE, PREAMBLE_SIZE } from './framing.ts';

export type PreambleOutcome =
  | { readonly kind: 'more' }
  /** A mesh link peer of our version; `rest`: what followed the preamble in the chunk. */
  | { readonly kind: 'ok'; readonly rest: Uint8Array }
  /** Refused, without a close notice: the peer speaks no link protocol we can talk. `answer` goes out first. */
  | { readonly kind: 'refused'; readonly code: CloseCode; readonly reason: string; readonly answer?: Uint8Array };

export class PreambleReader {
  readonly #bytes = new Uint8Array(PREAMBLE_SIZE);
  readonly #direction: Direction;
  readonly #address: string;
  /** Octets of the preamble received so far. */
  received = 0;

  constructor(direction: Direction, address: string) {
    this.#direction = direction;
    this.#address = address;
  }

  /** Takes what it needs of `chunk`. `spoken`: this side has sent its own preamble already. */
  feed(chunk: Uint8Array, spoken: boolean): PreambleOutcome {
    const n = Math.min(PREAMBLE_SIZE - this.received, chunk.length);
    this.#bytes.set(chunk.subarray(0, n), this.received);
    this.received += n;
    const check = checkPreamble(this.#bytes.subarray(0, this.received));
    if (check.kind === 'more') return check;
    if (check.kind === 'ok') return { kind: 'ok', rest: chunk.subarray(n) };
    const inbound = this.#direction === 'in';
    if (check.kind === 'version') {
      const reason = `peer speaks link framing version ${check.version}; this node speaks ${PREAMBLE[4]}`;
      // Our own preamble tells a newer peer which version we speak.
      return { kind: 'refused', code: 'version', reason, ...(inbound && !spoken && { answer: PREAMBLE }) };
    }
    const reason = foreignPeerReason(this.#direction, this.#address, check);
    // A WAMP client on the wrong port: answer in its own protocol so it fails clearly.
    if (inbound && check.what === 'rawsocket')
      return {
        kind: 'refused',
        code: 'protocol',
        reason,
        answer: buildHandshakeError(HandshakeErrorCode.SERIALIZER_UNSUPPORTED),
      };
    return { kind: 'refused', code: 'protocol', reason };
  }
}
