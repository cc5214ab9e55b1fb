// How the config's messages name a field (listeners.websocket[0].port) and quote text from the
// file: shared by the schema's issues (config.ts) and the checks across fields (addresses.ts).

/** Control characters as JSON escapes: a key or a quote from the file must not break the one-line-per-problem message (or drive the terminal). */
export const printable = (text: string) =>
  text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));

export function fieldPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else {
      const key = s === '' ? '""' : printable(String(s)); // an empty key is named, not left out
      out += out ? `.${key}` : key;
    }
  }
  return out;
}
