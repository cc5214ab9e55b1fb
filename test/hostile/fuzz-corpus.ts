// The seed frames the fuzz suites (fuzz-core.test.ts, fuzz-sockets.test.ts) mutate: the WAMP
// test vectors in one serialization, and those that decode to a list for value-level mutation.

import type { Serializer } from '../../src/serializers/index.ts';
import { vectorFrames } from '../helpers/fuzz-input.ts';

export interface Corpus {
  readonly frames: Uint8Array[];
  /** Decoded seed frames that are lists. */
  readonly messages: unknown[][];
}

export function seedCorpus(serializer: Serializer): Corpus {
  const frames = [...vectorFrames(serializer)];
  const messages: unknown[][] = [];
  for (const frame of frames) {
    try {
      const v = serializer.decode(frame);
      if (Array.isArray(v)) messages.push(v);
    } catch {
      /* a vector this serializer cannot read is still a fine byte-level seed */
    }
  }
  return { frames, messages };
}
