// The wire types of MsgPack and CBOR bytes, so that re-encoded bytes can be held to the golden
// ones' types (an integer must stay an integer) without requiring byte equality.

import { cbor, msgpack, type Serializer } from '../../src/serializers/index.ts';

// ---- wire-type shape of MsgPack and CBOR ----------------------------------------------------
// JS numbers cannot tell 5 from 5.0, so "decodes to the same value" would accept an encoder that
// writes integers as floats. This walker reads the bytes themselves: ints (any width) are 'int',
// floats (any width) are 'float', and so on, so golden and re-encoded bytes can be compared by
// type without caring about integer width or map key order.

type Shape = string | Shape[] | { map: [string, Shape][] };

class Reader {
  readonly b: Uint8Array;
  off = 0;
  constructor(b: Uint8Array) {
    this.b = b;
  }
  u8(): number {
    if (this.off >= this.b.length) throw new Error('truncated');
    return this.b[this.off++]!;
  }
  uint(n: number): bigint {
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.u8());
    return v;
  }
  bytes(n: number): Uint8Array {
    if (this.off + n > this.b.length) throw new Error('truncated');
    const out = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const mapShape = (entries: [string, Shape][]): Shape => ({
  map: entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
});

function msgpackShape(r: Reader): Shape {
  const t = r.u8();
  const arr = (n: number): Shape => Array.from({ length: n }, () => msgpackShape(r));
  const map = (n: number): Shape =>
    mapShape(Array.from({ length: n }, () => [JSON.stringify(msgpackShape(r)), msgpackShape(r)] as [string, Shape]));
  const str = (n: number): Shape => `str:${Buffer.from(r.bytes(n)).toString('utf8')}`;
  if (t <= 0x7f) return `int:${t}`;
  if (t >= 0xe0) return `int:${t - 256}`;
  if (t >= 0x80 && t <= 0x8f) return map(t & 0x0f);
  if (t >= 0x90 && t <= 0x9f) return arr(t & 0x0f);
  if (t >= 0xa0 && t <= 0xbf) return str(t & 0x1f);
  switch (t) {
    case 0xc0:
      return 'nil';
    case 0xc2:
      return 'false';
    case 0xc3:
      return 'true';
    case 0xc4:
      return `bin:${hex(r.bytes(Number(r.uint(1))))}`;
    case 0xc5:
      return `bin:${hex(r.bytes(Number(r.uint(2))))}`;
    case 0xc6:
      return `bin:${hex(r.bytes(Number(r.uint(4))))}`;
    case 0xca:
      return `float:${Buffer.from(r.bytes(4)).readFloatBE(0)}`;
    case 0xcb:
      return `float:${Buffer.from(r.bytes(8)).readDoubleBE(0)}`;
    case 0xcc:
      return `int:${r.uint(1)}`;
    case 0xcd:
      return `int:${r.uint(2)}`;
    case 0xce:
      return `int:${r.uint(4)}`;
    case 0xcf:
      return `int:${r.uint(8)}`;
    case 0xd0:
      return `int:${BigInt.asIntN(8, r.uint(1))}`;
    case 0xd1:
      return `int:${BigInt.asIntN(16, r.uint(2))}`;
    case 0xd2:
      return `int:${BigInt.asIntN(32, r.uint(4))}`;
    case 0xd3:
      return `int:${BigInt.asIntN(64, r.uint(8))}`;
    case 0xd9:
      return str(Number(r.uint(1)));
    case 0xda:
      return str(Number(r.uint(2)));
    case 0xdb:
      return str(Number(r.uint(4)));
    case 0xdc:
      return arr(Number(r.uint(2)));
    case 0xdd:
      return arr(Number(r.uint(4)));
    case 0xde:
      return map(Number(r.uint(2)));
    case 0xdf:
      return map(Number(r.uint(4)));
    default:
      throw new Error(`msgpack type 0x${t.toString(16)} not expected in WAMP vectors`);
  }
}

function cborShape(r: Reader): Shape {
  const first = r.u8();
  const major = first >> 5;
  const info = first & 0x1f;
  const arg = (): bigint | null => {
    if (info < 24) return BigInt(info);
    if (info >= 24 && info <= 27) return r.uint(2 ** (info - 24));
    if (info === 31) return null; // indefinite length
    throw new Error(`cbor additional info ${info}`);
  };
  const isBreak = (): boolean => {
    if (r.b[r.off] !== 0xff) return false;
    r.off++;
    return true;
  };
  switch (major) {
    case 0:
      return `int:${arg()}`;
    case 1:
      return `int:${-1n - (arg() ?? 0n)}`;
    case 2:
    case 3: {
      const n = arg();
      let bytes: Uint8Array;
      if (n === null) {
        // Indefinite length: definite-length chunks of the same major type until a break.
        const parts: Uint8Array[] = [];
        while (!isBreak()) {
          const info2 = r.u8() & 0x1f;
          parts.push(r.bytes(info2 < 24 ? info2 : Number(r.uint(2 ** (info2 - 24)))));
        }
        bytes = Buffer.concat(parts);
      } else bytes = r.bytes(Number(n));
      return major === 2 ? `bin:${hex(bytes)}` : `str:${Buffer.from(bytes).toString('utf8')}`;
    }
    case 4: {
      const n = arg();
      const out: Shape[] = [];
      if (n === null) while (!isBreak()) out.push(cborShape(r));
      else for (let i = 0n; i < n; i++) out.push(cborShape(r));
      return out;
    }
    case 5: {
      const n = arg();
      const entries: [string, Shape][] = [];
      const entry = (): void => {
        entries.push([JSON.stringify(cborShape(r)), cborShape(r)]);
      };
      if (n === null) while (!isBreak()) entry();
      else for (let i = 0n; i < n; i++) entry();
      return mapShape(entries);
    }
    case 6:
      return [`tag:${arg()}`, cborShape(r)];
    default:
      if (info === 20) return 'false';
      if (info === 21) return 'true';
      if (info === 22) return 'nil';
      if (info === 23) return 'undefined';
      if (info === 25) {
        const b = r.bytes(2);
        return `float16:${hex(b)}`;
      }
      if (info === 26) return `float:${Buffer.from(r.bytes(4)).readFloatBE(0)}`;
      if (info === 27) return `float:${Buffer.from(r.bytes(8)).readDoubleBE(0)}`;
      throw new Error(`cbor simple value ${info}`);
  }
}

export function wireShape(format: Serializer, bytes: Uint8Array): Shape | undefined {
  const r = new Reader(bytes);
  if (format === msgpack) return msgpackShape(r);
  if (format === cbor) return cborShape(r);
  return undefined; // JSON has one number type on the wire as JS reads it
}
