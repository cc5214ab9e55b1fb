// What the CBOR tags cbor-x knows decode to. Its tag handlers are process-wide and the router is
// their only user. Peers' payloads must be plain trees that every serialization can write: JSON
// has no sets, typed arrays or classes, and writes such an object as a dict of its own
// enumerable properties ({} for a Set, an Error or a RegExp), dropping its values:
//  - tags 28/29 (value sharing) build values that contain themselves, which nothing can encode
//    or walk to the end; they are refused, so the frame gets ABORT like any undecodable one;
//  - tag 259 (a map with any keys) decodes like a plain map: to a dict, and a non-string key
//    is refused as in an untagged map. As a Map it was forwarded with object keys that neither
//    the router's MsgPack nor its CBOR decoder (nor most clients) accepts, and as {} to JSON;
//  - tag 258 (a set) decodes to its list, tag 27 (a named object: cbor-x made an Error or a
//    RegExp of it) to its list [name, ...arguments];
//  - the typed arrays (RFC 8746; tag 64, bytes, stays a byte string) decode to lists of their
//    numbers (BigInt beyond 2^53, as other integers).
// Other tags stay cbor-x's: dates, bignums and decimal fractions become plain values, and a
// tag it does not know stays {tag, value}, which every serialization writes whole.

import { addExtension } from 'cbor-x';

// The type definitions want an encoder too; decode-only extensions are fine at run time.
type DecodeOnly = Parameters<typeof addExtension>[0];
const decodeAs = (tag: number, decode: (value: never) => unknown): void =>
  addExtension({ tag, decode } as unknown as DecodeOnly);

const refuse = (tag: number) => (): never => {
  throw new Error(`CBOR tag ${tag} (shared values) is not supported`);
};
decodeAs(28, refuse(28));
decodeAs(29, refuse(29));
decodeAs(259, (map: unknown) => map);
decodeAs(258, (list: unknown) => list);
decodeAs(27, (list: unknown) => list);

type Reader = (view: DataView, at: number, littleEndian: boolean) => number | bigint;
const u8: Reader = (v, at) => v.getUint8(at);
const i8: Reader = (v, at) => v.getInt8(at);
const u16: Reader = (v, at, le) => v.getUint16(at, le);
const i16: Reader = (v, at, le) => v.getInt16(at, le);
const u32: Reader = (v, at, le) => v.getUint32(at, le);
const i32: Reader = (v, at, le) => v.getInt32(at, le);
const f32: Reader = (v, at, le) => v.getFloat32(at, le);
const f64: Reader = (v, at, le) => v.getFloat64(at, le);
const u64: Reader = (v, at, le) => narrow(v.getBigUint64(at, le));
const i64: Reader = (v, at, le) => narrow(v.getBigInt64(at, le));
const narrow = (n: bigint): number | bigint =>
  n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n;

/** RFC 8746 section 2: tag = 0b010_f_s_e_ll; [reader, octets per element], big-endian tag first. */
const TYPED: [number, Reader, number][] = [
  [65, u16, 2],
  [66, u32, 4],
  [67, u64, 8],
  [68, u8, 1], // clamped
  [72, i8, 1],
  [73, i16, 2],
  [74, i32, 4],
  [75, i64, 8],
  [81, f32, 4],
  [82, f64, 8],
];
for (const [bigEndian, read, size] of TYPED) {
  for (const tag of size === 1 ? [bigEndian] : [bigEndian, bigEndian + 4]) {
    const littleEndian = tag !== bigEndian;
    decodeAs(tag, (bytes: Uint8Array) => {
      if (!(bytes instanceof Uint8Array) || bytes.length % size !== 0)
        throw new Error(`CBOR tag ${tag} (typed array) must be a byte string of whole elements`);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const list = new Array<number | bigint>(bytes.length / size);
      for (let i = 0; i < list.length; i++) list[i] = read(view, i * size, littleEndian);
      return list;
    });
  }
}
