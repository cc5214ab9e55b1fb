// Frames a transport is asked to send are queued per connection and written once the current
// work is done: a burst (an EVENT fan-out, a batch of pipelined results) leaves each connection
// in one write instead of one per frame. One callback serves every connection with something
// queued, rather than one callback per connection.

export interface Flushable {
  /** Writes what is queued; called once per batch in which the peer asked for it. */
  flush(): void;
}

/** Peers waiting for a flush, and how the flush is scheduled. */
class FlushQueue {
  #dirty: Flushable[] = [];
  readonly #schedule: (run: () => void) => void;
  readonly #run = (): void => {
    const peers = this.#dirty;
    this.#dirty = [];
    for (const peer of peers) {
      try {
        peer.flush();
      } catch (error) {
        // Still an uncaught error, as it would have been inside the peer's own callback; the
        // other connections' frames go out all the same.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  };

  constructor(schedule: (run: () => void) => void) {
    this.#schedule = schedule;
  }

  add(peer: Flushable): void {
    if (this.#dirty.length === 0) this.#schedule(this.#run);
    this.#dirty.push(peer);
  }
}

const endOfTick = new FlushQueue((run) => process.nextTick(run));
const afterCallbacks = new FlushQueue((run) => setImmediate(run));

/** Calls peer.flush() at the end of this tick. The caller asks once per batch (when its queue was empty). */
export function flushAtEndOfTick(peer: Flushable): void {
  endOfTick.add(peer);
}

/**
 * Calls peer.flush() once the event loop has run this round's I/O callbacks (setImmediate).
 * For uWebSockets.js: inside one of its callbacks the socket that called is corked, and uWS
 * corks no other socket then, so frames to other sockets written from there (a nextTick runs
 * inside the callback's scope) would each be a syscall of their own.
 */
export function flushAfterCallbacks(peer: Flushable): void {
  afterCallbacks.add(peer);
}
