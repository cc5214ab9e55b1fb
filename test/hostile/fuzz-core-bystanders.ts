// The well-behaved clients of the core fuzz (fuzz-core.test.ts): they share realm1 with the
// fuzzed sessions, serve and receive what those send, and must never be disturbed.

import type { Rng } from '../helpers/fuzz-input.ts';
import { type CorePeer, remember } from './fuzz-core-peer.ts';

export /** A well-behaved client in realm1: callee of 'com' (prefix, round robin) and subscriber. */
interface Bystander {
  readonly peer: CorePeer;
  readonly held: number[];
  sessionId: number;
  /** How many of its messages it has acted on. */
  inboxAt: number;
}

/**
 * Bystanders answer INVOCATIONs (echo, error, or later) and INTERRUPTs; whether they sent anything.
 * `unencodable` counts what they could not write back in their own serialization.
 */
export function answerBystanders(
  bystanders: readonly Bystander[],
  rng: Rng,
  deliver: (peer: CorePeer, frame: Uint8Array) => void,
  unencodable: () => void,
): boolean {
  let sent = false;
  for (const b of bystanders) {
    const messages = b.peer.messages.slice(b.inboxAt);
    b.inboxAt = b.peer.messages.length;
    const reply = (m: unknown[]): void => {
      let frame: Uint8Array;
      try {
        frame = b.peer.serializer.encode(m);
      } catch {
        // What the router gave us cannot be written back in our own serialization.
        unencodable();
        frame = b.peer.serializer.encode([8, 68, m[1], {}, 'com.fuzz.unencodable']);
      }
      deliver(b.peer, frame);
      sent = true;
    };
    for (const m of messages) {
      if (m[0] === 68) {
        const [, request, , details] = m as [number, number, number, Record<string, unknown>];
        if (details.progress === true) {
          remember(b.held, request, 100);
          continue;
        }
        const r = rng.int(10);
        if (r < 6) {
          if (details.receive_progress === true && rng.chance(0.4))
            reply([70, request, { progress: true }, ...m.slice(4)]);
          reply([70, request, {}, ...m.slice(4)]);
        } else if (r < 8) {
          reply([8, 68, request, {}, 'com.fuzz.error', ...m.slice(4)]);
        } else {
          remember(b.held, request, 100);
        }
      } else if (m[0] === 69) {
        const i = b.held.indexOf(m[1] as number);
        if (i >= 0) b.held.splice(i, 1);
        reply([8, 68, m[1], {}, 'wamp.error.canceled']);
      }
    }
    // Now and then a held call is answered late.
    if (b.held.length > 0 && rng.chance(0.05)) reply([70, b.held.shift(), {}, ['late']]);
  }
  return sent;
}
