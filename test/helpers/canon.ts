// Decoded CBOR in a comparable form, for tests that check a codec of ours against the general one.

/** Keys sorted, byte strings and big integers spelled out, a key whose value is undefined left out. */
export function canon(v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `<bytes ${Buffer.from(v).toString('hex')}>`;
  if (Array.isArray(v)) return v.map(canon);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort()
        .map((k) => [k, canon(o[k])]),
    );
  }
  return v;
}
