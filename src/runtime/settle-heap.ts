// Gives back the memory that start-up used and an idle router does not. Loading the modules and
// parsing the config allocate a burst that grows V8's young generation to 16 MB or more, and an
// idle process never runs the collection that would shrink it: ~9 MB of an idle router's RSS
// on x64. One memory-reducing full collection after the listening line returns it;
// the young generation grows again under load, so throughput is unchanged (capping it with
// --max-semi-space-size instead cost up to a third more CPU per call in the RPC benchmark).

import v8 from 'node:v8';
import vm from 'node:vm';

interface GcOptions {
  type: 'major';
  execution: 'sync';
  /** 'last-resort' is V8's collection that also shrinks the young generation. */
  flavor: 'last-resort';
}

/** One full, memory-reducing garbage collection; takes tens of milliseconds on a small heap. */
export function settleHeap(): void {
  // V8 offers the collection only as the `gc` function, installed in contexts made while the
  // flag is on: one is made for it, and the flag goes off again, so no other code sees `gc`.
  v8.setFlagsFromString('--expose-gc');
  let gc: (options: GcOptions) => void;
  try {
    gc = vm.runInNewContext('gc') as typeof gc;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
