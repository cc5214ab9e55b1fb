// Buffers a link's sending side (tagged-frames.ts) joins its envelopes into, reused from one tick
// to the next. A busy link closes an envelope of up to 64 KiB every tick; a new buffer for each
// is external memory to V8, and on a node in the middle of calls' paths that churn (with the
// buffers its socket reads come in) is what starts most of its full collections. An envelope is
// referenced by the writer's queue and the integrity batch until the end of its tick, and then
// by the socket's stream only if the kernel did not take it all: so the buffers of a tick whose
// writes the kernel took whole are free again; otherwise the stream keeps them and later ticks
// get others.

/** Envelopes up to this size go into slabs (a batch is sealed at 64 KiB; a frame alone may be larger). */
const SLAB_BYTES = 64 * 1024 + 16;
/** Free slabs kept per link, beyond which a tick's are left to the garbage collector. */
const KEPT = 4;

export class EnvelopeSlabs {
  #free: Buffer[] = [];
  #used: Buffer[] = [];

  /** `bytes` octets nobody else uses until written(), or undefined when too large for a slab. */
  take(bytes: number): Buffer | undefined {
    if (bytes > SLAB_BYTES) return undefined;
    const slab = this.#free.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES);
    this.#used.push(slab);
    return slab.subarray(0, bytes);
  }

  /** The tick's writes are done: `taken` when the socket took them all (nothing refers to the slabs). */
  written(taken: boolean): void {
    if (this.#used.length === 0) return;
    if (taken) for (const slab of this.#used) if (this.#free.length < KEPT) this.#free.push(slab);
    this.#used = [];
  }
}
