// JSON may escape one half of a surrogate pair alone ("\ud800"), and JSON.parse makes of it a
// string that UTF-8 cannot hold. Written on to a CBOR or MessagePack peer it became octets those
// formats forbid (ED A0 80), which the router itself refuses from such peers and strict client
// decoders fail on; each such half is read as U+FFFD instead, as the CBOR and MessagePack
// decoders read invalid UTF-8.

// Only an escape can make one: the text was decoded from UTF-8, which replaced any such octets.
const HALF_ESCAPED = /\\u[dD][89a-fA-F]/;

/** Whether JSON `text` with an escape ("\\u") in it may hold a lone surrogate (a pair escaped whole is also seen here). */
export const halfEscaped = (text: string): boolean => HALF_ESCAPED.test(text);

/** Whether JSON `text` may hold a lone surrogate. */
export const mayHoldLoneSurrogate = (text: string): boolean => text.includes('\\u') && halfEscaped(text);

/** `value`, parsed from JSON (changed in place), with every lone surrogate in its strings and keys as U+FFFD. */
export function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return value.toWellFormed();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (typeof x === 'string') v[i] = x.toWellFormed();
        else if (typeof x === 'object' && x !== null) stack.push(x);
      }
    } else if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
      const dict = v as Record<string, unknown>;
      for (const key of Object.keys(dict)) {
        const x = dict[key];
        const k = key.toWellFormed();
        const y = typeof x === 'string' ? x.toWellFormed() : x;
        if (k !== key) delete dict[key];
        // Defined, not assigned: a key "__proto__" (JSON.parse makes it an own property) set by
        // assignment would change the dict's prototype instead.
        if (k !== key || y !== x)
          Object.defineProperty(dict, k, { value: y, writable: true, enumerable: true, configurable: true });
        if (typeof y === 'object' && y !== null) stack.push(y);
      }
    }
  }
  return value;
}
