// A CBOR frame whose bytes are well formed but which the router's CBOR decoder refuses: the
// first text string PLACEHOLDER in `value` is rewritten as an indefinite-length text string
// (one chunk), which cbor-x does not take. For checking that a frame is passed on unread.

import { cbor } from '../../src/serializers/index.ts';

export const PLACEHOLDER = 'PLACEHOLDER';

export function undecodableCbor(value: unknown[]): Buffer {
  return undecodableOctets(Buffer.from(cbor.encode(value)));
}

/** The same rewrite on CBOR already encoded. */
export function undecodableOctets(frame: Buffer): Buffer {
  const marker = Buffer.from([0x60 | PLACEHOLDER.length, ...Buffer.from(PLACEHOLDER)]);
  const at = frame.indexOf(marker);
  if (at < 0) throw new Error(`no ${PLACEHOLDER} in the value`);
  return Buffer.concat([
    frame.subarray(0, at),
    Buffer.of(0x7f),
    marker,
    Buffer.of(0xff),
    frame.subarray(at + marker.length),
  ]);
}
