// The link's frame decoder alone, fuzzed: any chunking of any frames re-frames them exactly, and
// it stops for good at the first header out of range.

import test from 'ava';
import {
  encodeLinkFrame,
  frameHeader,
  LinkFrameDecoder,
  LinkFrameType,
  MAX_FRAME,
} from '../../src/mesh/links/framing.ts';
import { Rng } from '../helpers/fuzz-input.ts';
import { EXTRA_SEEDS } from '../helpers/fuzz-checks.ts';

const FRAME_TYPES = [
  LinkFrameType.MESH,
  LinkFrameType.PING,
  LinkFrameType.PONG,
  LinkFrameType.CONTROL,
  LinkFrameType.TAG,
] as const;

test('link: the frame decoder hands on exactly the frames it was given, in any chunking, and stops at the first bad header', (t) => {
  const rng = new Rng(0xdec0de);
  for (let run = 0; run < 400 + EXTRA_SEEDS * 400; run++) {
    const limit = rng.pick([0, 16, 4096, 70_000]);
    const frames: { type: number; payload: Uint8Array }[] = [];
    const parts: Uint8Array[] = [];
    let bad: number | undefined;
    for (let i = rng.int(8); i > 0 && bad === undefined; i--) {
      if (rng.chance(0.1)) {
        // A bad header: the decoder must stop here, after handing on everything before.
        bad = frames.length;
        parts.push(
          rng.chance(0.5)
            ? Uint8Array.of(5 + rng.int(251), 0, 0, 0)
            : frameHeader(rng.pick(FRAME_TYPES), Math.min(MAX_FRAME, limit + 1 + rng.int(100))),
        );
        break;
      }
      const payload = rng.bytes(rng.chance(0.1) ? limit : rng.int(Math.min(limit, 300) + 1));
      const type = rng.pick(FRAME_TYPES);
      frames.push({ type, payload });
      parts.push(encodeLinkFrame(type, payload));
    }
    const stream = Buffer.concat(parts);
    const got: { type: number; payload: Buffer }[] = [];
    const decoder = new LinkFrameDecoder(limit);
    let error: string | undefined;
    for (let at = 0; at < stream.length; ) {
      const n = rng.chance(0.5) ? 1 + rng.int(7) : 1 + rng.int(stream.length - at);
      try {
        error ??= decoder.feed(stream.subarray(at, at + n), (type, payload) => {
          got.push({ type, payload: Buffer.from(payload) });
          return true;
        });
      } catch (e) {
        return void t.fail(`run ${run}: feed() threw: ${String(e)}`);
      }
      at += n;
    }
    if (
      got.length !== frames.length ||
      got.some((g, i) => g.type !== frames[i]!.type || !g.payload.equals(frames[i]!.payload))
    ) {
      return void t.fail(`run ${run}: ${frames.length} frames in, ${got.length} out, or not the same`);
    }
    if ((bad !== undefined) !== (error !== undefined))
      return void t.fail(`run ${run}: bad header at ${bad}, decoder said ${error}`);
    // Dead after a violation: nothing more comes out.
    if (
      error !== undefined &&
      decoder.feed(encodeLinkFrame(LinkFrameType.PING, new Uint8Array(1)), () => {
        got.push({ type: -1, payload: Buffer.alloc(0) });
        return true;
      }) === undefined
    )
      return void t.fail(`run ${run}: decoder alive after "${error}"`);
  }
  t.pass();
});
