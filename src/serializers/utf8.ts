// Strict UTF-8 (RFC 3629) on bytes: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
// beyond U+10FFFF. WAMP strings are Unicode; a payload the router forwards as bytes must be
// checked as bytes, since no decoder sees it.

import { isUtf8 } from 'node:buffer';

// From this length the native check (SIMD) beats the loop below, its call and subarray included.
const NATIVE_FROM = 256;

/** Whether b[start, end) is well-formed UTF-8. */
export function isValidUtf8(b: Uint8Array, start: number, end: number): boolean {
  if (end - start >= NATIVE_FROM) return isUtf8(b.subarray(start, end));
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    // Lead byte: how many continuation bytes follow, and the range the second one must be in
    // (the narrower ranges exclude overlong forms, surrogates and code points past U+10FFFF).
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return false;
    if (i + n >= end) return false; // cut short
    const second = b[i + 1]!;
    if (second < lo || second > hi) return false;
    for (let k = 2; k <= n; k++) {
      const d = b[i + k]!;
      if (d < 0x80 || d > 0xbf) return false;
    }
    i += n + 1;
  }
  return true;
}
