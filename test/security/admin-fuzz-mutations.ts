// Value-level mutations of an admin call, for the admin API fuzz (test/security/admin-fuzz.test.ts):
// the wrong types, missing and extra fields, odd strings and numbers validators must refuse.

import type { SecurityDocument } from '../../src/security/index.ts';
import { nested, protoDict, randomValue, type Rng, STRINGS } from '../helpers/fuzz-input.ts';
import type { Call, Dict } from './admin-fuzz-calls.ts';

const ODD_STRINGS: readonly string[] = [
  '',
  ' ',
  '\0',
  '\u0000admin',
  '\ud800',
  '\udfff\ud800',
  'é',
  'e\u0301',
  '😀'.repeat(70),
  '\u202e',
  '\u2028',
  'a\tb',
  'a b',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'all',
  'anonymous',
  'user:',
  'group:',
  'user:admin',
  'group:admin',
  'group:__proto__',
  'x'.repeat(129),
  'x'.repeat(256),
  'x'.repeat(1025),
  'com..x',
  'com.#',
  '.',
  'wampmesh.admin',
];
const ODD_NUMBERS: readonly number[] = [
  0,
  -0,
  -1,
  1.5,
  -1.5,
  NaN,
  Infinity,
  -Infinity,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e308,
  5e-324,
  Number.MAX_SAFE_INTEGER,
];

/** A value meant to break validators: biased towards what the admin schemas look at. */
function hostileValue(rng: Rng): unknown {
  switch (rng.int(12)) {
    case 0:
      return rng.pick(ODD_STRINGS);
    case 1:
      return rng.pick(ODD_NUMBERS);
    case 2:
      return 'x'.repeat(rng.pick([1_000, 70_000, 1_000_000]));
    case 3:
      return nested(rng.pick([2, 33, 200, 1_000]), rng.chance(0.5));
    case 4:
      return protoDict(rng.chance(0.5) ? { admin: true, authmethods: ['trust'] } : randomValue(rng));
    case 5:
      return { constructor: { prototype: { polluted: true } } };
    case 6:
      return rng.pick([null, true, false, [], {}, [[]], [{}], ['all'], { 0: 'a' }]);
    case 7:
      return rng.pick(STRINGS);
    default:
      return randomValue(rng);
  }
}

/** Every place a value sits in the call's arguments: list elements and dict values, any depth. */
export function valueSlots(root: unknown[]): { parent: Dict | unknown[]; key: string | number }[] {
  const out: { parent: Dict | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 6 || typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return;
    if (Array.isArray(v))
      v.forEach((item, i) => {
        out.push({ parent: v, key: i });
        walk(item, depth + 1);
      });
    else
      for (const [k, item] of Object.entries(v)) {
        out.push({ parent: v as Dict, key: k });
        walk(item, depth + 1);
      }
  };
  walk(root, 0);
  return out;
}

/** Every dict in the call's arguments, any depth. */
function dictsIn(root: unknown[]): Dict[] {
  const out: Dict[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 6 || typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return;
    if (Array.isArray(v)) v.forEach((item) => walk(item, depth + 1));
    else {
      out.push(v as Dict);
      for (const item of Object.values(v)) walk(item, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

export function mutate(rng: Rng, call: Call, doc: SecurityDocument): Call {
  const args = call.args;
  for (let n = 1 + rng.int(3); n > 0; n--) {
    // Half the time a scalar: most checks are on those, and in a large argument (an imported
    // document) a uniform pick would mostly replace whole records.
    const all = valueSlots(args);
    const leaves = all.filter((x) => {
      const v = (x.parent as Dict)[x.key as string];
      return typeof v !== 'object' || v === null;
    });
    const slots = leaves.length > 0 && rng.chance(0.5) ? leaves : all;
    const slot = slots.length > 0 ? rng.pick(slots) : undefined;
    const set = (v: unknown) => {
      if (slot !== undefined) (slot.parent as Dict)[slot.key as string] = v;
      else args.push(v);
    };
    switch (rng.int(14)) {
      case 0:
      case 1:
      case 2:
        set(hostileValue(rng));
        break;
      case 12:
      case 13: {
        // a value nudged: still of its type, just off (a hash, a key, a name, a count)
        const v = slot === undefined ? undefined : (slot.parent as Dict)[slot.key as string];
        if (typeof v === 'string') {
          set(
            rng.pick([
              `${v}!`,
              v.slice(0, -1),
              v.slice(1),
              v.toUpperCase(),
              ` ${v}`,
              v + v,
              v.replace(/[A-Za-z0-9]/, '='),
              `${v}\ud800`,
              `\0${v}`,
              `${v}\u0301`,
              v.normalize('NFD'),
            ]),
          );
        } else if (typeof v === 'number') set(rng.pick([v + 1, v - 1, -v, v * 2 ** 20, v + 0.5]));
        else set(hostileValue(rng));
        break;
      }
      case 3: // a value of the wrong type for where it is
        set(rng.pick([0, 'x', true, null, [], {}, [1], { a: 1 }, -1, NaN]));
        break;
      case 4: {
        // a field missing
        const dicts = dictsIn(args);
        if (dicts.length === 0) {
          args.pop();
          break;
        }
        const d = rng.pick(dicts);
        const keys = Object.keys(d);
        if (keys.length > 0) delete d[rng.pick(keys)];
        break;
      }
      case 5: {
        // a field extra
        const dicts = dictsIn(args);
        const key = rng.pick([
          'extra',
          '__proto__',
          'constructor',
          'prototype',
          'id',
          'uri',
          'password',
          'credentials',
          'toString',
          '',
          'x'.repeat(300),
        ]);
        const value = hostileValue(rng);
        if (dicts.length === 0) {
          args.push(key === '__proto__' ? protoDict(value) : { [key]: value });
          break;
        }
        const d = rng.pick(dicts);
        if (key === '__proto__')
          Object.defineProperty(d, '__proto__', { value, enumerable: true, writable: true, configurable: true });
        else d[key] = value;
        break;
      }
      case 6: {
        // a name that exists already, or one that does not
        const realm = rng.pick(doc.realms);
        const names = [
          ...realm.groups.map((g) => g.name),
          ...realm.users.map((u) => u.authid),
          ...doc.realms.map((r) => r.uri),
          'missing',
          'admin',
          'all',
          'anonymous',
        ];
        set(rng.chance(0.5) ? rng.pick(names) : `${rng.pick(['user:', 'group:'])}${rng.pick(names)}`);
        break;
      }
      case 7:
        args.length = rng.int(args.length + 1);
        break; // arguments missing
      case 8:
        args.push(hostileValue(rng));
        break; // arguments extra
      case 9: {
        const i = rng.int(Math.max(args.length, 1));
        const j = rng.int(Math.max(args.length, 1));
        [args[i], args[j]] = [args[j], args[i]];
        break;
      }
      case 10:
        set(rng.chance(0.5) ? [rng.pick(ODD_STRINGS), rng.pick(ODD_STRINGS)] : rng.pick(ODD_NUMBERS));
        break;
      default: // a list where one value was, or the value twice
        if (slot !== undefined) {
          const v = (slot.parent as Dict)[slot.key as string];
          set(rng.chance(0.5) ? [v] : [v, v]);
        }
    }
  }
  return call;
}

/** The object argument as kwargs, as the admin API also takes it. */
export function asKwargs(call: Call): Call {
  const last = call.args.at(-1);
  // Only a plain dict: the transport refuses anything else as ArgumentsKw (test/hostile covers that).
  if (typeof last !== 'object' || last === null || Object.getPrototypeOf(last) !== Object.prototype) return call;
  return { procedure: call.procedure, args: call.args.slice(0, -1), kwargs: last as Dict };
}
