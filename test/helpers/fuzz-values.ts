// Awkward values for the fuzz suites: numbers, strings, keys and nestings that break parsers
// and validators, drawn from an Rng.

import type { Rng } from './fuzz-rng.ts';

const NUMBERS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  2,
  7,
  48,
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
  2 ** 53 + 2,
  -(2 ** 53),
  -(2 ** 53) - 2,
  2 ** 64,
  1.5,
  -1.5,
  0.1,
  1e308,
  -1e308,
  5e-324,
  NaN,
  Infinity,
  -Infinity,
];
const BIGINTS: readonly bigint[] = [
  0n,
  1n,
  -1n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
  -(2n ** 63n),
  2n ** 64n,
  -(2n ** 64n),
  2n ** 100n,
];
export const STRINGS: readonly string[] = [
  '',
  'a',
  'com',
  'com.fuzz',
  'com.fuzz.echo',
  'com.fuzz.topic',
  'com.myapp.myprocedure1',
  'com.myapp.topic1',
  'realm1',
  'wamp.session.list',
  'wamp.session.count',
  'wamp.error.foo',
  'wamp.close.goodbye_and_out',
  'wamp.close.close_realm',
  '\0',
  '\0AAAA',
  '\0!!not base64',
  '\ud800',
  '\udfff\ud800',
  'é',
  '😀',
  'a..b',
  '.',
  'a.',
  '.a',
  'a b',
  'com.#',
  '*',
  'x'.repeat(300),
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'null',
  '[]',
  '{}',
  '\u2028',
  '"',
  '\\',
  '%s%n',
  'prefix',
  'wildcard',
  'exact',
  'single',
  'roundrobin',
  'random',
  'first',
  'last',
  'skip',
  'kill',
  'killnowait',
  'anonymous',
  'ticket',
  'wampcra',
  'cbor',
  'x_custom',
  'true',
  '1',
];
const KEYS: readonly string[] = [
  'a',
  '',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'length',
  '0',
  '-1',
  'x'.repeat(100),
  'progress',
  'receive_progress',
  'timeout',
  'acknowledge',
  'match',
  'invoke',
  'eligible',
  'exclude',
  'retain',
  'mode',
];

/** Keys the router reads from Options and Details: where a wrong type is most likely to matter. */
export const OPTION_KEYS: readonly string[] = [
  'match',
  'invoke',
  'receive_progress',
  'progress',
  'timeout',
  'disclose_me',
  'exclude_me',
  'acknowledge',
  'retain',
  'get_retained',
  'exclude',
  'eligible',
  'exclude_authid',
  'eligible_authid',
  'exclude_authrole',
  'eligible_authrole',
  'ppt_scheme',
  'ppt_serializer',
  'ppt_cipher',
  'ppt_keyid',
  'mode',
  'roles',
  'authmethods',
  'authid',
  'authextra',
  'features',
  'message',
  'caller',
  'callee',
  'publisher',
  'subscriber',
  'procedure',
  'topic',
  'scope',
];

function randomText(rng: Rng, maxLength: number): string {
  const n = rng.int(maxLength + 1);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rng.int(10);
    s +=
      r < 6
        ? String.fromCharCode(0x61 + rng.int(26))
        : r < 8
          ? rng.pick(['.', '_', '#', '*', ' ', '\0', '"'])
          : String.fromCharCode(rng.int(0x10000));
  }
  return s;
}

/** A dict that has '__proto__' as an own key (a literal would set the prototype instead). */
export function protoDict(inner: unknown): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  Object.defineProperty(d, '__proto__', { value: inner, enumerable: true, writable: true, configurable: true });
  return d;
}

export function nested(depth: number, dict: boolean): unknown {
  let v: unknown = dict ? {} : [];
  for (let i = 0; i < depth; i++) v = dict ? { a: v } : [v];
  return v;
}

/** A value of any type, biased towards the ones that break parsers and validators. */
export function randomValue(rng: Rng, depth = 0): unknown {
  const r = rng.int(depth > 3 ? 12 : 21);
  switch (r) {
    case 0:
    case 1:
      return rng.pick(NUMBERS);
    case 2:
      return rng.chance(0.5) ? rng.int(100) : (rng.next() - 0.5) * 2 ** rng.int(70);
    case 3:
      return rng.pick(BIGINTS);
    case 4:
    case 5:
      return rng.pick(STRINGS);
    case 6:
      return randomText(rng, 20);
    case 7:
      return rng.chance(0.5);
    case 8:
      return null;
    case 9:
      return undefined;
    case 10:
      return rng.bytes(rng.int(40));
    case 11:
      return rng.int(2 ** 31);
    case 12:
    case 13:
      return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth + 1));
    case 14:
    case 15: {
      const d: Record<string, unknown> = {};
      for (let i = rng.int(5); i > 0; i--) {
        const key = rng.chance(0.5) ? rng.pick(OPTION_KEYS) : rng.pick(KEYS);
        if (key === '__proto__') return protoDict(randomValue(rng, depth + 1));
        d[key] = randomValue(rng, depth + 1);
      }
      return d;
    }
    // Nesting our encoders can write (deeper goes in as bytes: withDeepValue), never near the
    // stack's limit, where whether a walk overflows depends on the JIT and runs would not repeat.
    case 16:
      return nested(rng.chance(0.9) ? rng.int(200) : 1_000, rng.chance(0.5));
    case 17: {
      // Types the encoders turn into extensions (MsgPack) or tags (CBOR): they come back as
      // Dates, Maps, Sets, typed arrays, which the router then holds where it expects dicts.
      switch (rng.int(7)) {
        case 0:
          return new Date(rng.chance(0.5) ? rng.int(2 ** 31) * 1000 : NaN);
        case 1:
          return new Map<unknown, unknown>([
            [1, 'one'],
            ['k', randomValue(rng, depth + 1)],
          ]);
        case 2:
          return new Set([1, 'two', rng.int(10)]);
        case 3:
          return new Float64Array([1.5, NaN, -0]);
        case 4:
          return new Int16Array([-1, 2, 3]);
        case 5:
          return new Map<unknown, unknown>([
            [{ k: 1 }, 1],
            [[1, 2], 2],
          ]);
        default:
          return /re+gex/g;
      }
    }
    case 18:
      return rng.chance(0.7)
        ? Array.from({ length: 1_000 + rng.int(2_000) }, (_, i) => i)
        : 'x'.repeat(10_000 + rng.int(50_000));
    case 19:
      return protoDict(
        rng.chance(0.5)
          ? { acknowledge: true, progress: true, receive_progress: true, match: 'prefix' }
          : randomValue(rng, depth + 1),
      );
    default: {
      const d: Record<string, unknown> = {};
      d[rng.pick(OPTION_KEYS)] = randomValue(rng, depth + 1);
      return d;
    }
  }
}
