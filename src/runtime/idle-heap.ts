// Gives back, once the router goes idle, the memory that a burst of work grew V8's heap to.
//
// V8 does this itself with its "memory reducer": once the allocation rate has been low for a
// while it runs memory-reducing collections, and keeps at it. But a low allocation rate is also
// a router serving a trickle of calls, and there it cost each router on a mesh path ~15 µs of CPU
// per call and the calls' tail (BENCHMARKS.md, sixteenth session: calls one at a time across three
// hops, p99 per hop +252 µs with it, +132 without, medians of six runs). So the launchers turn it off
// (--no-memory-reducer, scripts/wampmesh and the executable's execArgv), and this takes its
// place with a stricter sign of idleness: the process used less than IDLE_CPU of a core over the
// last interval, as with no clients' traffic (heartbeats and timers only). Then one
// memory-reducing collection (settleHeap), and another only once the heap has grown again.
// Measured with process.cpuUsage(), not the event loop's utilization: that is node:perf_hooks,
// which a router that serves no /metrics does not load (test/cli/unused-builtins.test.ts).

import v8 from 'node:v8';
import { settleHeap } from './settle-heap.ts';

/** How often idleness is checked (the heap is given back one to two of these after work stops). */
export const IDLE_CHECK_MS = 10_000;
/** A process that used less than this share of a core over an interval is idle (a trickle of calls is not). */
export const IDLE_CPU = 0.005;
/** The heap must have grown this much since the last collection here for another to be worth it. */
export const GROWTH_BYTES = 8 * 2 ** 20;

export interface IdleHeapOptions {
  readonly intervalMs?: number;
  readonly idleCpu?: number;
  readonly growthBytes?: number;
  /** The collection (settleHeap); replaceable so that a test can count the calls. */
  readonly settle?: () => void;
}

export class IdleHeap {
  readonly #intervalMs: number;
  readonly #idleCpu: number;
  readonly #growthBytes: number;
  readonly #settle: () => void;
  #timer: NodeJS.Timeout | undefined;
  /** CPU time (µs) and wall time (ns) at the start of the interval. */
  #lastCpu = cpuMicros();
  #lastAt = process.hrtime.bigint();
  /** V8's heap size right after the last collection made here (or at start). */
  #settledSize = heapSize();

  constructor(options: IdleHeapOptions = {}) {
    this.#intervalMs = options.intervalMs ?? IDLE_CHECK_MS;
    this.#idleCpu = options.idleCpu ?? IDLE_CPU;
    this.#growthBytes = options.growthBytes ?? GROWTH_BYTES;
    this.#settle = options.settle ?? settleHeap;
  }

  start(): void {
    this.#restart();
    this.#settledSize = heapSize();
    this.#timer = setInterval(() => this.check(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One check (what the timer runs): true when the process was idle and the heap had grown, so it was collected. */
  check(): boolean {
    const [cpu, at] = [this.#lastCpu, this.#lastAt];
    this.#restart();
    const busy = (this.#lastCpu - cpu) / (Number(this.#lastAt - at) / 1000);
    if (!(busy < this.#idleCpu) || heapSize() - this.#settledSize < this.#growthBytes) return false;
    this.#settle();
    this.#settledSize = heapSize();
    // The collection's own CPU is not the next interval's.
    this.#restart();
    return true;
  }

  #restart(): void {
    this.#lastCpu = cpuMicros();
    this.#lastAt = process.hrtime.bigint();
  }
}

/** CPU time the process has used, user and system, in µs. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** V8's heap as the process holds it (young and old generations, all spaces). */
function heapSize(): number {
  return v8.getHeapStatistics().total_heap_size;
}
