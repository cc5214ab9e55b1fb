// msgpackr and cbor-x write a JS number outside the 32-bit range as a float64, so a WAMP ID
// like 5218805941164479 would reach the peer as 5218805941164479.0, which Autobahn|Python
// rightly rejects (IDs are integers). Both libraries write BigInt as a 64-bit integer, so large
// safe integers are turned into BigInt on the way out. Copy-on-write: the caller's value is
// never changed (the same args may also go to a JSON peer, where BigInt cannot be written).

const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;

// Up to 2^53 inclusive: the largest WAMP ID, exactly representable as a double.
const LIMIT = 2 ** 53;

function isWide(v: number): boolean {
  return (v > UINT32_MAX || v < INT32_MIN) && v <= LIMIT && v >= -LIMIT && Number.isInteger(v);
}

export function widenInts<T>(value: T): T {
  return widen(value) as T;
}

function widen(v: unknown): unknown {
  if (typeof v === 'number') return isWide(v) ? BigInt(v) : v;
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      // Strings, small numbers and the like need no call.
      if (typeof item !== 'object' && (typeof item !== 'number' || !isWide(item))) continue;
      const w = widen(item);
      if (w !== item) (out ??= v.slice())[i] = w;
    }
    return out ?? v;
  }
  let out: Record<string, unknown> | undefined;
  for (const key in v) {
    const item = (v as Record<string, unknown>)[key];
    if (typeof item !== 'object' && (typeof item !== 'number' || !isWide(item))) continue;
    const w = widen(item);
    if (w !== item) (out ??= { ...(v as Record<string, unknown>) })[key] = w;
  }
  return out ?? v;
}

/** Decoded values: BigInts within ±2^53 become numbers (in place: the value is freshly decoded). */
export function narrowBigInts(v: unknown): unknown {
  if (typeof v === 'bigint') return v <= BIG_LIMIT && v >= -BIG_LIMIT ? Number(v) : v;
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = narrowBigInts(v[i]);
    return v;
  }
  const o = v as Record<string, unknown>;
  for (const key in o) o[key] = narrowBigInts(o[key]);
  return o;
}

const BIG_LIMIT = 2n ** 53n;
