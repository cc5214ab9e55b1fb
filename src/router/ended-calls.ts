// Progressive calls that ended before their caller's last chunk. Spec "Progressive Call
// Invocations", "Continuations on Completed Calls": a call is complete once its callee sent the
// final YIELD or ERROR (or left); a CALL that continues it (same request ID) may still be on its
// way, and the Dealer "MUST ignore and discard that CALL message without any further correlated
// response to the Caller". Taken for a new call, it would reach a callee (another one, in a
// shared registration) as a stream starting in the middle, and its answer would reach the caller
// after the final one.
//
// The spec tells a continuation from a new call by its request ID alone, as IDs count up (its
// "watermark"); clients in the wild do not all count up, so the router
// remembers the ended call instead: ENDED takes the call's place in its caller's table of calls
// (ongoing-calls.ts) until the caller's final chunk (progress false or absent), which is
// swallowed too, or until the caller leaves. That costs one slot and no object, and the lookup
// every CALL makes anyway finds it. The same holds when the call ended otherwise: a
// CANCEL, a call timeout, a refusal of its first CALL (a router-side procedure, a callee
// without the feature): the caller was answered once, and is answered no more for that ID.
//
// Where the spec is silent:
// - It does not say how long to remember (it suggests a "grace period" table). A caller that
//   takes the final RESULT as the end and sends no final chunk would leave its ENDED for good,
//   so ENDED slots count toward the caller's maxPendingCallsPerSession (limits.ts) and, when the
//   caller needs the room for a new call, its ENDED with the lowest request ID gives way (the
//   oldest, for the clients that count up; any one would keep memory bounded): a chunk that late
//   (the caller has made a limit's worth of calls since) is no longer a network delay.
// - Only callers of this router are remembered. For a caller on another router (RemoteCaller),
//   the caller's own router's Dealer remembers, and the mesh drops a chunk that finds no hop
//   (mesh/routing/calls.ts): the call's hops are gone with its final answer or its cancel.

import type { IdTable } from './id-table.ts';

/** In a caller's table of calls, in place of a progressive call that ended before its last chunk. */
export const ENDED: unique symbol = Symbol('ended progressive call');
export type Ended = typeof ENDED;

/** The lowest request ID in `table` holding ENDED, or undefined when it holds none. */
export function oldestEnded<V>(table: IdTable<V | Ended>): number | undefined {
  let oldest: number | undefined;
  for (const [request, value] of table.entries()) {
    if (value === ENDED && (oldest === undefined || request < oldest)) oldest = request;
  }
  return oldest;
}
