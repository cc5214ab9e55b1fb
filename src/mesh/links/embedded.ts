// A call's frames cross the mesh as embedded CBOR data items (RFC 8949 3.4.5.1: tag 24 on a byte
// string holding the frame's map): the byte string's head gives the frame's length, so a node
// it only passes through reads its routing header and steps over the rest (passed-frames.ts)
// instead of walking every item of the caller's payload. The routers write them
// (routed-writer.ts); the general decoder's path unwraps them (envelope.ts, embeddedCbor).

/** Tag 24, in its two-octet head. */
export const EMBEDDED_TAG = Uint8Array.of(0xd8, 0x18);
/** The most the tag and a byte string's head take (a length of up to 2^32 - 1). */
export const EMBEDDING = EMBEDDED_TAG.length + 5;

/**
 * Writes the tag and the byte string's head, in their shortest forms, just before the `length`
 * octets at `map` in `b` (which has EMBEDDING octets free there); where they start.
 */
export function embedHead(b: Buffer, map: number, length: number): number {
  let start = map;
  if (length < 24) b[--start] = 0x40 | length;
  else if (length < 0x100) {
    b[--start] = length;
    b[--start] = 0x58;
  } else if (length < 0x10000) {
    b[--start] = length & 0xff;
    b[--start] = length >> 8;
    b[--start] = 0x59;
  } else {
    start -= 4;
    b.writeUInt32BE(length, start);
    b[--start] = 0x5a;
  }
  b[--start] = EMBEDDED_TAG[1]!;
  b[--start] = EMBEDDED_TAG[0]!;
  return start;
}
