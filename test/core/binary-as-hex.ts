// Comparing decoded values across serializations: decoders differ on the class they give binary
// values (Buffer, Uint8Array), so tests compare binaries by their bytes.

/** `v` as plain JSON data, every Uint8Array replaced by { bin: its hex }. */
export function normalise(v: unknown): unknown {
  // Decoders differ on the class of binary values; compare bytes.
  return JSON.parse(
    JSON.stringify(v, function (this: Record<string, unknown>, k: string, x: unknown) {
      const original = this[k];
      return original instanceof Uint8Array ? { bin: Buffer.from(original).toString('hex') } : x;
    }),
  );
}
