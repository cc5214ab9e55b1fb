// Calls from the links into the mesh (linkUp, linkDown, receive...) never happen re-entrantly
// from inside one of the mesh's own calls to the links (connect, send, disconnect): the mesh
// would find its tables half-changed. They are queued and run in order once the mesh's own
// call has returned.

import type { Logger } from '../../log.ts';

export class MeshCallQueue {
  readonly #log: Logger;
  readonly #queue: (() => void)[] = [];
  #flushing = false;
  #flushScheduled = false;
  #driverDepth = 0;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Runs one of the mesh's calls to the links: calls into the mesh it causes wait until it returns. */
  driver<T>(fn: () => T): T {
    this.#driverDepth++;
    try {
      return fn();
    } finally {
      this.#driverDepth--;
    }
  }

  /**
   * The same as driver(), for the hot path without a closure: every enter() is followed by
   * leave() (in a finally).
   */
  enter(): void {
    this.#driverDepth++;
  }
  leave(): void {
    this.#driverDepth--;
  }

  /** Calls into the mesh, in order, never inside one of the mesh's own calls to us. */
  emit(fn: () => void): void {
    this.#queue.push(fn);
    if (this.#flushing) return;
    if (this.#driverDepth > 0) {
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => {
          this.#flushScheduled = false;
          this.#flush();
        });
      }
      return;
    }
    this.#flush();
  }

  #flush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      for (let fn = this.#queue.shift(); fn !== undefined; fn = this.#queue.shift()) {
        try {
          fn();
        } catch (error) {
          this.#log.error({ err: (error as Error).message }, 'mesh callback threw');
        }
      }
    } finally {
      this.#flushing = false;
    }
  }
}
