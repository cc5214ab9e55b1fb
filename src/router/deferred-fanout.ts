// A burst of publications to one large subscription (a publisher's PUBLISHes read in one go)
// is handed to the subscribers once for the burst, not once per publication: a walk over
// 10,000 subscribers touches each one's session, flow control, socket and queue, and a walk
// per publication found them out of the cache every time (BENCHMARKS.md, issue 23, scaling).
// The Broker defers such a delivery here. It is done at the end of the current task (a
// microtask), or before anything else is sent to any session (Session.send), so no message
// overtakes an EVENT routed before it: each session sees the order in which the router routed.

/** A deferred delivery: sends what it holds and forgets it; must not throw. */
export type Drain = () => void;

const pending: Drain[] = [];

/** Runs `drain` at the end of the current task, or before the next send to a session. */
export function deferFanout(drain: Drain): void {
  if (pending.length === 0) queueMicrotask(drainFanouts);
  pending.push(drain);
}

/**
 * Does the deferred deliveries now, in the order they were deferred. Called before every send:
 * with none waiting it only reads a length.
 */
export function drainFanouts(): void {
  // One at a time: a delivery can defer another (a slow consumer closed, its meta events).
  while (pending.length > 0) pending.shift()!();
}
