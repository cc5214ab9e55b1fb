// Values that transcoding between JSON, MessagePack and CBOR gets wrong: byte strings, multi-byte
// and combining text, integers around every width boundary, floats, and nesting with them all.

import type { Kwargs } from './autobahn-js.ts';

// Byte strings are Buffers, not bare Uint8Arrays: the `cbor` package encodes a bare
// Uint8Array as an RFC 8746 typed array (tag 64) rather than a CBOR byte string, and a Node
// application sending binary would normally hold a Buffer anyway.
export function bytesCounting(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = i % 256;
  return bytes;
}

export const RICH_ARGS: unknown[] = [
  Buffer.from([0x00, 0xff, 0x00, 0x01, 0xfe, 0xff]),
  bytesCounting(256),
  Buffer.alloc(0),
  '😀🎉 👩‍👩‍👧‍👦 🇯🇵',
  '中文字符 日本語のテキスト 한국어',
  'e\u0301 a\u0308 \u0915\u094D\u0937 Z\u0351\u036B\u0343',
  'nul\u0000inside',
  0,
  1,
  -1,
  255,
  256,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 31),
  -(2 ** 31) - 1,
  -(2 ** 53 - 1),
  -(2 ** 53),
  0.5,
  -1.25,
  1.5e300,
  true,
  false,
  null,
  [],
  {},
  { nested: { list: [1, [2, [3, { bin: Buffer.from([0x00, 0xff]) }]]], ü: 'umlaut key', '': 'empty key' } },
];
export const RICH_KWARGS: Kwargs = {
  bin: Buffer.from([0xff, 0x00]),
  unicode: '😀中文e\u0301',
  big: 2 ** 53,
  neg: -(2 ** 53),
  deep: { a: [{ b: [Buffer.from([0x00]), '😀', 2 ** 53 - 1] }] },
  'key_😀': true,
};
