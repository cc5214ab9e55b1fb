// The config files the config fuzz (config-fuzz.test.ts) hands loadConfig: valid ones (the
// README's example, config.test.ts's full file, a mesh node, `{}`) mutated at the value level or
// as text, each with the paths it changed so that a refusal can be checked to name them.

import { nested, randomValue, type Rng } from '../helpers/fuzz-input.ts';
import { FULL_CONFIG } from './config-examples.ts';

export type Dict = Record<string, unknown>;
export type Segment = string | number;

const README_EXAMPLE = {
  dataDir: './data',
  logLevel: 'warn',
  realms: [
    {
      uri: 'realm1',
      anonymous: true,
      anonymousFrom: 'loopback',
      uriCheck: 'loose',
      callerDisclosure: 'optional',
      publisherDisclosure: 'optional',
      history: [],
    },
  ],
  listeners: {
    websocket: [{ host: '127.0.0.1', port: 8080, path: '/ws' }],
    rawsocket: [{ host: '127.0.0.1', port: 8081 }],
    unix: [],
  },
  limits: {
    maxMessageSize: 16777216,
    preAuthMaxMessageSize: 65536,
    preAuthBufferBytes: 16777216,
    handshakeTimeoutMs: 10000,
    outboundSoftLimitBytes: 1048576,
    outboundHardLimitBytes: 16777216,
    slowConsumerTimeoutMs: 10000,
    wsIdleTimeoutSec: 120,
  },
  mesh: { enabled: false },
};

/** config.test.ts's full file, with a second realm. */
const FULL_FILE = { ...FULL_CONFIG, realms: [...FULL_CONFIG.realms, { uri: 'realm1', anonymous: true }] };

const MESH_NODE = {
  realms: [{ uri: 'com.home', anonymous: true, history: [{ topic: 'com.home..temp', match: 'wildcard' }] }],
  listeners: { rawsocket: [{ port: 8081 }], unix: [{ path: 'run/w.sock' }] },
  mesh: {
    enabled: true,
    cluster: { secret: 'sixteen-chars-at-least' },
    seeds: ['localhost:8091'],
    tls: { cert: 'cert.pem', key: 'key.pem' },
  },
};

export const BASES: readonly Dict[] = [README_EXAMPLE, FULL_FILE, MESH_NODE, {}];
for (const base of BASES) deepFreeze(base); // a mutation must work on a copy

const ODD_STRINGS: readonly string[] = [
  '',
  ' ',
  '\0',
  '\ud800',
  'é',
  '😀'.repeat(40),
  '\u202e',
  'a b',
  'a#b',
  'a..b',
  '.',
  '/',
  '../..',
  '__proto__',
  'constructor',
  'realm1',
  '127.0.0.1',
  '::1',
  '[::1]',
  '0.0.0.0',
  'localhost',
  'x'.repeat(300),
  'x'.repeat(100_000),
  '0660',
  '0999',
  '/ws',
  'ws',
  '/a b',
  'warn',
  'verbose',
  'loopback',
  'anywhere',
  'strict',
  'prefix',
  '10.0.0.1:9000',
  '10.0.0.1',
  'true',
  '8080',
  '-1',
];
const ODD_NUMBERS: readonly number[] = [
  0,
  -0,
  -1,
  1,
  1.5,
  7,
  8,
  100,
  511,
  512,
  1023,
  1024,
  65535,
  65536,
  2 ** 24,
  2 ** 24 + 1,
  2 ** 30,
  2 ** 31,
  2 ** 53,
  1e300,
  -1e300,
  5e-324,
];
const KEYS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'extra',
  '',
  'listners',
  'Port',
  'port ',
  'enabled',
  'uri',
  'x'.repeat(200),
  'a\nb',
  '\u001b[2J',
  'a.b',
  '[0]',
];

function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}

/** Values JSON can carry (the file is JSON), biased towards what the schema checks. */
function hostileValue(rng: Rng): unknown {
  switch (rng.int(10)) {
    case 0:
    case 1:
      return rng.pick(ODD_STRINGS);
    case 2:
    case 3:
      return rng.pick(ODD_NUMBERS);
    case 4:
      return rng.pick([null, true, false, [], {}, [[]], [{}], [1], { 0: 'a' }]);
    case 5:
      return nested(rng.pick([2, 50, 1_000]), rng.chance(0.5)); // deeper: DEEP_TOKENS, as text
    case 6:
      return { constructor: { prototype: { polluted: true } } };
    default: {
      // randomValue's JSON-representable part (no bigints, bytes, Maps: the file is text).
      const v = randomValue(rng);
      try {
        return JSON.parse(
          JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)) ?? 'null',
        ) as unknown;
      } catch {
        return null;
      }
    }
  }
}

interface Slot {
  parent: Dict | unknown[];
  key: Segment;
  path: Segment[];
}

function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const walk = (v: unknown, at: Segment[]) => {
    if (at.length > 6 || typeof v !== 'object' || v === null) return;
    if (Array.isArray(v))
      v.forEach((item, i) => {
        out.push({ parent: v, key: i, path: [...at, i] });
        walk(item, [...at, i]);
      });
    else
      for (const [k, item] of Object.entries(v)) {
        out.push({ parent: v as Dict, key: k, path: [...at, k] });
        walk(item, [...at, k]);
      }
  };
  walk(root, []);
  return out;
}

function containers(root: unknown): { value: Dict | unknown[]; path: Segment[] }[] {
  const out: { value: Dict | unknown[]; path: Segment[] }[] = [];
  const walk = (v: unknown, at: Segment[]) => {
    if (at.length > 6 || typeof v !== 'object' || v === null) return;
    out.push({ value: v as Dict | unknown[], path: at });
    if (Array.isArray(v)) v.forEach((item, i) => walk(item, [...at, i]));
    else for (const [k, item] of Object.entries(v)) walk(item, [...at, k]);
  };
  walk(root, []);
  return out;
}

function setOwn(d: Dict, key: string, value: unknown): void {
  // defineProperty, so that "__proto__" becomes a key of the file rather than the prototype.
  Object.defineProperty(d, key, { value, enumerable: true, writable: true, configurable: true });
}

/** One to three value-level mutations; returns the document and the paths changed. */
export function mutateDocument(rng: Rng, base: Dict): { doc: unknown; paths: Segment[][] } {
  let doc: unknown = structuredClone(base);
  const paths: Segment[][] = [];
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const all = slots(doc);
    const leaves = all.filter((s) => {
      const v = (s.parent as Dict)[s.key as string];
      return typeof v !== 'object' || v === null;
    });
    const pool = leaves.length > 0 && rng.chance(0.6) ? leaves : all;
    const slot = pool.length > 0 ? rng.pick(pool) : undefined;
    switch (rng.int(9)) {
      case 0:
      case 1:
      case 2: // a value replaced
        if (slot === undefined) break;
        (slot.parent as Dict)[slot.key as string] = hostileValue(rng);
        paths.push(slot.path);
        break;
      case 3: {
        // a field removed, or a list element
        if (slot === undefined) break;
        if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
        else delete slot.parent[slot.key as string];
        paths.push(slot.path);
        break;
      }
      case 4: {
        // an unknown field
        const dicts = containers(doc).filter((c) => !Array.isArray(c.value));
        if (dicts.length === 0) break;
        const c = rng.pick(dicts);
        const key = rng.pick(KEYS);
        setOwn(c.value as Dict, key, hostileValue(rng));
        paths.push([...c.path, key]);
        break;
      }
      case 5: {
        // a list element duplicated (two realms with one URI, two listeners on one port)
        const lists = containers(doc).filter((c) => Array.isArray(c.value) && c.value.length > 0);
        if (lists.length === 0) break;
        const c = rng.pick(lists);
        const list = c.value as unknown[];
        list.push(structuredClone(rng.pick(list)));
        paths.push([...c.path, list.length - 1]);
        break;
      }
      case 6: {
        // a known field where it does not belong, or a section added
        const section = rng.pick(['realms', 'listeners', 'limits', 'mesh', 'logLevel', 'dataDir']);
        if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) break;
        (doc as Dict)[section] = rng.pick([
          [],
          {},
          [{}],
          { enabled: true },
          [{ uri: 'a', anonymous: true }],
          'x',
          0,
          null,
        ]);
        paths.push([section]);
        break;
      }
      case 7: {
        // a list where one value was, or a value in a list
        if (slot === undefined) break;
        const v = (slot.parent as Dict)[slot.key as string];
        (slot.parent as Dict)[slot.key as string] = rng.chance(0.5) ? [v] : { value: v };
        paths.push(slot.path);
        break;
      }
      default: // the whole file
        if (rng.chance(0.8)) continue;
        doc = rng.pick([[], null, 'config', 1, [structuredClone(base)], true]);
        paths.push([]);
    }
  }
  return { doc, paths };
}

// Tokens JSON.parse accepts and then rounds, overflows or decodes oddly.
const DEEP_TOKENS = ['['.repeat(100_000) + ']'.repeat(100_000), '{"a":'.repeat(50_000) + '{}' + '}'.repeat(50_000)];
const TOKENS = [
  ...DEEP_TOKENS,
  '1e400',
  '-1e400',
  '-0',
  '0.0',
  '1E3',
  '9007199254740993',
  '1.0000000000000002',
  '8080.0',
  '"\\ud800"',
  '"\\u0000"',
  '"\\u00e9"',
  '"\\/ws"',
  'null',
  '[]',
  '{}',
];

/** The file's text with a value token swapped, or broken as a hand edit would break it. */
export function mutateText(rng: Rng, text: string): string {
  switch (rng.int(6)) {
    case 0:
    case 1:
    case 2: {
      // a value token replaced by one JSON.parse rounds or decodes oddly
      const values = [...text.matchAll(/:\s*(-?\d[\d.eE+-]*|"(?:[^"\\]|\\.)*"|true|false|null)/g)];
      if (values.length === 0) return text;
      const m = rng.pick(values);
      const at = m.index + m[0].length - m[1]!.length;
      return text.slice(0, at) + rng.pick(TOKENS) + text.slice(at + m[1]!.length);
    }
    case 3:
      return text.slice(0, rng.int(text.length)); // truncated
    case 4:
      return rng.pick(['\ufeff', '// comment\n', ' ', '']) + text + rng.pick([',', '}', '\n\0', '']); // a BOM, a comment, trailing junk
    default: {
      // a duplicate key: JSON.parse keeps the last
      const keys = [...text.matchAll(/"([A-Za-z]+)":/g)];
      if (keys.length === 0) return text;
      const m = rng.pick(keys);
      return `${text.slice(0, m.index)}"${m[1]}": ${rng.pick(['0', '"x"', 'null', '[]'])}, ${text.slice(m.index)}`;
    }
  }
}
