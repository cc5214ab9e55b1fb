// Buffers a link's sending side (tagged-frames.ts) joins its envelopes into, reused from one tick
// to the next. A busy link closes several envelopes a tick (one per integrity batch); a new buffer
// for each is external memory to V8, and on a node in the middle of calls' paths that churn (with
// the buffers its socket reads come in) is what starts most of its full collections. An envelope
// is referenced by the writer's queue and the integrity batch until the end of its tick, and then
// by the socket's stream only if the kernel did not take it all: so the buffers of a tick whose
// writes the kernel took whole are free again; otherwise the stream keeps them and later ticks
// get others. A tick's envelopes are laid one after another in a slab, so that a small batch
// does not hold a whole slab.

/** Envelopes up to this size go into slabs (a batch is sealed at SEAL_BYTES; a frame alone may be larger). */
const SLAB_BYTES = 64 * 1024 + 16;
/** Free slabs kept per link, beyond which a tick's are left to the garbage collector. */
const KEPT = 4;

export class EnvelopeSlabs {
  #free: Buffer[] = [];
  #used: Buffer[] = [];
  /** Where the next envelope starts in the last of #used. */
  #at = SLAB_BYTES;

  /** `bytes` octets nobody else uses until written(), or undefined when too large for a slab. */
  take(bytes: number): Buffer | undefined {
    if (bytes > SLAB_BYTES) return undefined;
    if (this.#at + bytes > SLAB_BYTES) {
      this.#used.push(this.#free.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES));
      this.#at = 0;
    }
    const slab = this.#used[this.#used.length - 1]!;
    const start = this.#at;
    this.#at = start + bytes;
    return slab.subarray(start, start + bytes);
  }

  /** The tick's writes are done: `taken` when the socket took them all (nothing refers to the slabs). */
  written(taken: boolean): void {
    if (this.#used.length === 0) return;
    if (taken) for (const slab of this.#used) if (this.#free.length < KEPT) this.#free.push(slab);
    this.#used = [];
    this.#at = SLAB_BYTES;
  }
}
