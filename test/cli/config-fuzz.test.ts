// Seeded fuzzing of what an operator hands the router before it runs: the config file (through
// loadConfig, the function `wampmesh serve --config` uses, then what serve does with the result)
// and the command line (parseCommandLine and the admin subcommands' parseAdmin). Valid files
// (the README's example, the full file of config.test.ts, a mesh node, `{}`) are mutated at the
// value level (wrong types, missing and unknown fields, huge strings, odd unicode, deep nesting,
// "__proto__"/"constructor" keys, negative/huge/fractional numbers, duplicates) and at the text
// level (numbers JSON.parse rounds or overflows, escapes, truncation). The promises:
//
//   - a file is accepted, or refused with a ConfigError whose every line reads
//     "FILE: FIELD: problem", naming a field at or next to what was changed (the whole file only
//     when the file as a whole is wrong); never another exception;
//   - an accepted file goes through what serve does next without an exception: the command-line
//     flags applied (applyServeFlags), the router built from its realms and limits, the WebSocket
//     decision; and a sample of accepted files starts the whole server in-process (listeners on
//     loopback port 0), which either runs or fails with a StartError, and stops;
//   - a command line is parsed, or refused with a UsageError that names the option, command or
//     argument at fault; never another exception;
//   - the real `wampmesh` process, on a sample of refused files and command lines, exits 1 or 2
//     with one line on stderr and no stack trace.
//
// Seeds are fixed, so runs are reproducible; a failure names the seed, the case and the input.
// FUZZ_EXTRA_SEEDS=n runs more of them, for a longer hunt on a developer's machine.

import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAdmin } from '../../src/cli/admin.ts';
import { applyServeFlags, parseCommandLine, type ServeFlags } from '../../src/cli/args.ts';
import { StartError, UsageError } from '../../src/cli/errors.ts';
import { startServer, toRealmConfig } from '../../src/cli/serve.ts';
import { ConfigError, loadConfig, type Config } from '../../src/config/config.ts';
import type { Logger } from '../../src/log.ts';
import { Router } from '../../src/router/router.ts';
import { decideWebSocket } from '../../src/runtime/websocket-policy.ts';
import { nested, randomValue, Rng } from '../helpers/fuzz-input.ts';
import { EXTRA_SEEDS, Violation, show } from '../helpers/fuzz-checks.ts';
import { FULL_CONFIG } from './config-examples.ts';
import { runCli } from './run-cli.ts';

const SEEDS = [0xc0f1_0001, 0xc0f1_0002, 0xc0f1_0003, 0xc0f1_0004];
const seeds = [...SEEDS, ...Array.from({ length: EXTRA_SEEDS }, (_, i) => 0xc0f1_1000 + i)];
const FILES_PER_SEED = 600;
const STARTS_PER_SEED = 6;
const ARGV_PER_SEED = 400;

type Dict = Record<string, unknown>;
type Segment = string | number;

// ---- valid files -------------------------------------------------------------------------------

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

const BASES: readonly Dict[] = [README_EXAMPLE, FULL_FILE, MESH_NODE, {}];
for (const base of BASES) deepFreeze(base); // a mutation must work on a copy

// ---- mutation ----------------------------------------------------------------------------------

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
function mutateDocument(rng: Rng, base: Dict): { doc: unknown; paths: Segment[][] } {
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
function mutateText(rng: Rng, text: string): string {
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

// ---- checks ------------------------------------------------------------------------------------

/** A path as ConfigError writes it: control characters escaped, an empty key as "". */
function fieldPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) {
    const key =
      typeof s === 'number'
        ? ''
        : s === ''
          ? '""'
          : s.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
    out += typeof s === 'number' ? `[${s}]` : out ? `.${key}` : key;
  }
  return out;
}

/**
 * Whether an error at `field` can be blamed on a change at `changed`: the same place, inside
 * it, what holds it, or a neighbour a cross-field rule names (maxLinks for a changed minLinks,
 * the second of two realms with one URI, mesh.cluster.secret for mesh.enabled). Compared as the
 * paths are written, so that keys with dots or brackets in them compare as they are.
 */
function related(field: string, changed: Segment[]): boolean {
  if (changed.length === 0) return true;
  // The list or object that holds the change (a list left too short), but not further up.
  if (field === fieldPath(changed.slice(0, -1))) return true;
  for (let k = Math.max(1, changed.length - 2); k <= changed.length; k++) {
    const prefix = fieldPath(changed.slice(0, k));
    if (field === prefix || field.startsWith(`${prefix}.`) || field.startsWith(`${prefix}[`)) return true;
  }
  return false;
}

const STACK_LINE = /^\s+at .+[(:]\d+/m;

class ConfigFuzz {
  readonly rng: Rng;
  readonly dir: string;
  readonly seed: number;
  case = '';
  input = '';
  stats = {
    files: 0,
    accepted: 0,
    refused: 0,
    syntax: 0,
    started: 0,
    startErrors: 0,
    argv: 0,
    argvRefused: 0,
    admin: 0,
    adminRefused: 0,
  };
  /** Refused files and command lines, for the real process to be tried on. */
  readonly refusedFiles: string[] = [];
  readonly acceptedConfigs: Config[] = [];
  /** What the first StartErrors said, for the log. */
  readonly startErrors: string[] = [];

  constructor(seed: number) {
    this.seed = seed;
    this.rng = new Rng(seed);
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-config-fuzz-'));
  }

  fail(message: string): never {
    throw new Violation(
      `seed 0x${this.seed.toString(16)} ${this.case}: ${message}\n  input: ${this.input.slice(0, 800)}`,
    );
  }

  /** Checks the refusal's shape; returns its fields. */
  checkConfigError(err: unknown, file: string): ConfigError {
    if (!(err instanceof ConfigError)) this.fail(`not a ConfigError: ${(err as Error)?.stack ?? String(err)}`);
    if (err.issues.length === 0) this.fail('a ConfigError without issues');
    const lines = err.message.split('\n');
    if (lines.length !== err.issues.length)
      this.fail(`${err.issues.length} issues in ${lines.length} lines: ${err.message}`);
    err.issues.forEach((issue, i) => {
      const expected = issue.field ? `${file}: ${issue.field}: ` : `${file}: `;
      if (!lines[i]!.startsWith(expected)) this.fail(`line ${i} does not start with "${expected}": ${lines[i]}`);
      if (issue.problem.trim() === '' || /\[object |undefined|NaN/.test(issue.problem))
        this.fail(`a problem that says nothing: ${show(issue)}`);
      if (STACK_LINE.test(issue.problem)) this.fail(`a stack in the message: ${issue.problem}`);
    });
    return err;
  }

  file(i: number): void {
    const rng = this.rng;
    const base = rng.pick(BASES);
    const file = path.join(this.dir, `c${i}.json`);
    let paths: Segment[][] | undefined;
    let text: string;
    if (rng.chance(0.8)) {
      const m = mutateDocument(rng, base);
      paths = m.paths;
      text = JSON.stringify(m.doc, null, rng.chance(0.5) ? 2 : undefined) ?? 'null';
    } else {
      text = mutateText(rng, JSON.stringify(base, null, 2));
    }
    fs.writeFileSync(file, text);
    this.case = `file ${i}`;
    this.input = text;
    this.stats.files++;
    let config: Config;
    try {
      config = loadConfig(file);
    } catch (err) {
      const e = this.checkConfigError(err, file);
      this.stats.refused++;
      if (e.field === '') {
        this.stats.syntax++;
        // Only a file that is not JSON, or not an object, is wrong as a whole.
        if (paths !== undefined && !paths.some((p) => p.length === 0))
          this.fail(`refused as a whole after changes at ${paths.map(fieldPath).join(', ')}: ${e.message}`);
      } else if (paths !== undefined && !e.issues.every((issue) => paths.some((p) => related(issue.field, p)))) {
        this.fail(
          `blames ${e.issues.map((x) => x.field).join(', ')} for changes at ${paths.map(fieldPath).join(', ')}: ${e.message}`,
        );
      }
      if (this.refusedFiles.length < 8) this.refusedFiles.push(file);
      return;
    }
    this.stats.accepted++;
    this.afterLoad(config);
    if (this.acceptedConfigs.length < 50) this.acceptedConfigs.push(config);
  }

  /** What serve does with a loaded file before it opens anything. */
  afterLoad(config: Config): void {
    try {
      const flags: ServeFlags = this.rng.chance(0.5)
        ? {}
        : { realms: ['realm1', 'com.extra'], logLevel: 'error', ws: [{ host: '127.0.0.1', port: 0, path: '/ws' }] };
      const applied = applyServeFlags(config, flags);
      const router = new Router({
        realms: applied.realms.map(toRealmConfig),
        limits: {
          helloTimeoutMs: applied.limits.handshakeTimeoutMs,
          outboundSoftLimitBytes: applied.limits.outboundSoftLimitBytes,
          outboundHardLimitBytes: applied.limits.outboundHardLimitBytes,
          slowConsumerTimeoutMs: applied.limits.slowConsumerTimeoutMs,
        },
      });
      if (router.realms.size !== new Set(applied.realms.map((r) => r.uri)).size)
        this.fail('the router does not serve every realm of the file');
      decideWebSocket(applied.listeners, {}, () => 'no WebSocket here');
    } catch (err) {
      if (err instanceof Violation) throw err;
      this.fail(`an accepted file failed after loading: ${(err as Error)?.stack ?? String(err)}`);
    }
  }

  /** A few accepted files start the whole server in-process; listeners go to loopback port 0. */
  async start(i: number): Promise<void> {
    if (this.acceptedConfigs.length === 0) return;
    const config = this.rng.pick(this.acceptedConfigs);
    // Mostly a fresh folder; now and then one that cannot be used (which must fail, not hang).
    const dataDir = this.rng.chance(0.7) ? path.join(this.dir, `data${i}`) : this.rng.pick(unusableDataDirs(this.dir));
    const local = <T extends { host: string; port: number }>(l: T): T => ({ ...l, host: '127.0.0.1', port: 0 });
    const run: Config = {
      ...config,
      dataDir,
      listeners: {
        websocket: config.listeners.websocket.slice(0, 1).map(local),
        rawsocket: config.listeners.rawsocket.slice(0, 1).map(local),
        unix: config.listeners.unix.slice(0, 1).map((u, k) => ({ ...u, path: path.join(this.dir, `s${i}-${k}.sock`) })),
        http: config.listeners.http.slice(0, 1).map(local),
        mqtt: config.listeners.mqtt.slice(0, 1).map(local),
      },
      // Discovery and dialling stay off: the fuzz is about the values, not the network.
      mesh: { ...config.mesh, listen: { host: '127.0.0.1', port: 0 }, mdns: false, seeds: [] },
    };
    this.case = `start ${i}`;
    this.input = show(run, 800);
    const errors: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (obj, msg) => {
        errors.push(`${msg ?? ''} ${show(obj)}`);
      },
      child: () => logger,
    };
    try {
      const server = await startServer(run, logger);
      this.stats.started++;
      await server.stop();
    } catch (err) {
      if (!(err instanceof StartError)) this.fail(`start failed with ${(err as Error)?.stack ?? String(err)}`);
      if (STACK_LINE.test(err.message)) this.fail(`a stack in the StartError: ${err.message}`);
      this.stats.startErrors++;
      if (this.startErrors.length < 3) this.startErrors.push(err.message.slice(0, 160));
    }
    if (errors.length > 0) this.fail(`logged at error level: ${errors.join(' | ')}`);
  }

  argv(i: number): void {
    const rng = this.rng;
    const admin = rng.chance(0.4);
    const base = rng.pick(admin ? ADMIN_ARGV : SERVE_ARGV);
    const argv = mutateArgv(rng, base, admin ? ADMIN_OPTIONS : SERVE_OPTIONS);
    this.case = `${admin ? 'admin ' : ''}argv ${i}`;
    this.input = show(argv, 800);
    if (admin) {
      this.stats.admin++;
      try {
        parseAdmin(argv);
      } catch (err) {
        this.checkUsageError(err, argv);
        this.stats.adminRefused++;
      }
      return;
    }
    this.stats.argv++;
    try {
      const command = parseCommandLine(argv);
      if (command.name === 'serve') {
        const applied = applyServeFlags(loadConfig(), command.flags);
        if (applied.realms.length === 0) this.fail('no realm after the flags');
      }
    } catch (err) {
      if (err instanceof Violation) throw err;
      this.checkUsageError(err, argv);
      this.stats.argvRefused++;
    }
  }

  checkUsageError(err: unknown, argv: readonly string[]): void {
    if (!(err instanceof UsageError)) this.fail(`not a UsageError: ${(err as Error)?.stack ?? String(err)}`);
    const message = err.message;
    if (message.trim() === '' || STACK_LINE.test(message))
      this.fail(`a UsageError that says nothing, or a stack: ${message}`);
    // It names what is wrong: an option given (as typed, or its name), the command, or an argument.
    const names = argv
      .flatMap((a) => [a, a.split('=')[0]!, a.replace(/^-+/, '').split('=')[0]!])
      .filter((a) => a.length > 1);
    if (!names.some((n) => message.includes(n)) && !/command|argument|expected/.test(message))
      this.fail(`a UsageError that names nothing of ${show(argv)}: ${message}`);
  }

  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Data folders a router cannot use: under /proc (which answers ENOENT for a folder it cannot
 * hold: Node's recursive mkdir retried that forever), under a file, and one whose Unix socket
 * path is too long to connect or listen to.
 */
function unusableDataDirs(dir: string): string[] {
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, '');
  return ['/proc/wampmesh-fuzz/data', '/proc/wampmesh-fuzz', path.join(file, 'data'), path.join(dir, 'x'.repeat(120))];
}

// ---- command lines -----------------------------------------------------------------------------

const SERVE_ARGV: readonly string[][] = [
  ['serve'],
  ['serve', '--ws', '127.0.0.1:0'],
  ['serve', '--rawsocket', '[::1]:8081', '--ws', 'localhost:8080/wamp'],
  [
    'serve',
    '--config',
    'wampmesh.json',
    '--realm',
    'com.example',
    '--log-level',
    'info',
    '--unix',
    'w.sock',
    '--data',
    'd',
  ],
  ['--help'],
  ['-V'],
  ['help', 'serve'],
  ['serve', '-h'],
];
const SERVE_OPTIONS = [
  '--config',
  '--ws',
  '--rawsocket',
  '--unix',
  '--data',
  '--log-level',
  '--realm',
  '--help',
  '-h',
  '--version',
  '-V',
  '--port',
  '--',
  '-',
  '--ws=',
  '--realm=a#b',
];

const ADMIN_ARGV: readonly string[][] = [
  ['realm', 'create', 'com.x', '--authmethods', 'ticket,wampcra'],
  ['realm', 'update', 'com.x', '--security', 'off', '--connections', 'on'],
  ['user', 'create', 'com.x', 'bob', '--password', 'a long password', '--group', 'g', '--meta', '{"a":1}'],
  ['user', 'update', 'com.x', 'bob', '--disabled', 'on', '--pubkey', 'ab'.repeat(32)],
  ['group', 'create', 'com.x', 'ops', '--parent', 'staff', '--description', 'd'],
  [
    'grant',
    'create',
    'com.x',
    '--allow',
    'call,subscribe',
    '--uri',
    'com.x.',
    '--match',
    'prefix',
    '--to',
    'group:ops',
  ],
  ['source', 'create', 'com.x', '--cidr', '10.0.0.0/8', '--authmethods', 'ticket', '--to', 'all'],
  ['grant', 'delete', 'com.x', '7'],
  ['realm', 'list', '--data', 'd'],
  ['security', 'export', '--out', 'f.json'],
  ['user', 'create', 'com.x', 'bob', '--json', '{"groups":["a"]}'],
  ['mesh', 'status'],
  ['user', '--help'],
  ['security', 'import', '/nonexistent.json'],
];
const ADMIN_OPTIONS = [
  '--data',
  '--json',
  '--help',
  '-h',
  '--password',
  '--group',
  '--meta',
  '--authmethods',
  '--to',
  '--allow',
  '--uri',
  '--cidr',
  '--disabled',
  '--out',
  '--frob',
  '--',
  '-',
];

const ARG_VALUES = [
  '',
  ' ',
  '-',
  '--',
  '=',
  '\0',
  'é',
  '😀',
  'x'.repeat(10_000),
  '127.0.0.1:0',
  '[::1]:0',
  '::1:80',
  '127.0.0.1:65536',
  '127.0.0.1:-1',
  'host:80/a b',
  'a#b',
  'com..x',
  'realm1',
  'loud',
  'debug',
  'on',
  'off',
  'maybe',
  '{',
  '{"a":1}',
  '[]',
  'null',
  '0',
  '-1',
  '1.5',
  '99999999999999999999',
  '../..',
];

function mutateArgv(rng: Rng, base: readonly string[], options: readonly string[]): string[] {
  const argv = [...base];
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const i = rng.int(argv.length + 1);
    switch (rng.int(7)) {
      case 0:
      case 1:
        argv[Math.min(i, argv.length - 1)] = rng.pick(ARG_VALUES);
        break; // a value replaced
      case 2:
        argv.splice(i, 0, rng.pick(options));
        break; // an option inserted (often without its value)
      case 3:
        argv.splice(i, 0, rng.pick(options), rng.pick(ARG_VALUES));
        break;
      case 4:
        argv.splice(i, 1);
        break; // something left out
      case 5:
        argv.splice(i, 0, `${rng.pick(options)}=${rng.pick(ARG_VALUES)}`);
        break;
      default:
        argv.push(...argv.slice(1, 1 + rng.int(3))); // repeated
    }
  }
  return argv;
}

// ---- the tests ---------------------------------------------------------------------------------

for (const seed of seeds) {
  test(`config fuzz, seed 0x${seed.toString(16)}: mutated files and command lines are accepted or refused naming the field, never a crash`, async (t) => {
    const started = performance.now();
    const fuzz = new ConfigFuzz(seed);
    try {
      for (let i = 0; i < FILES_PER_SEED; i++) fuzz.file(i);
      for (let i = 0; i < STARTS_PER_SEED; i++) await fuzz.start(i);
      for (let i = 0; i < ARGV_PER_SEED; i++) fuzz.argv(i);
    } finally {
      fuzz.dispose();
    }
    t.log(
      `seed 0x${seed.toString(16)}: ${show(fuzz.stats)} in ${Math.round(performance.now() - started)} ms; start errors: ${show(fuzz.startErrors, 600)}`,
    );
    t.pass();
  });
}

// The real process, on a sample: a refused file or command line is one line on stderr, no stack.
test('config fuzz, the wampmesh process: refused files and command lines exit 1 or 2 with one line and no stack', async (t) => {
  const fuzz = new ConfigFuzz(SEEDS[0]!);
  const cases: { argv: string[]; code: number }[] = [];
  try {
    for (let i = 0; i < 200 && fuzz.refusedFiles.length < 3; i++) fuzz.file(i);
    for (const file of fuzz.refusedFiles.slice(0, 3)) cases.push({ argv: ['serve', '--config', file], code: 1 });
    const rng = new Rng(SEEDS[0]! + 1);
    for (let n = 0; cases.length < 6 && n < 100; n++) {
      const argv = mutateArgv(rng, rng.pick(SERVE_ARGV), SERVE_OPTIONS);
      try {
        parseCommandLine(argv);
      } catch {
        cases.push({ argv, code: 2 });
      }
    }
    // A data folder that cannot be used, for serve and for an admin command.
    for (const data of unusableDataDirs(fuzz.dir).slice(0, 2)) {
      cases.push({ argv: ['serve', '--data', data, '--ws', '127.0.0.1:0'], code: 1 });
      cases.push({ argv: ['realm', 'list', '--data', data], code: 1 });
    }
    cases.push({ argv: ['realm', 'list', '--data', unusableDataDirs(fuzz.dir)[3]!], code: 1 });
    const results = await Promise.all(cases.map((c) => runCli(c.argv)));
    results.forEach((r, i) => {
      const c = cases[i]!;
      const lines = r.stderr.trimEnd().split('\n');
      t.is(r.code, c.code, `${show(c.argv)}: exit ${r.code}, stderr ${r.stderr}`);
      t.false(STACK_LINE.test(r.stderr), `${show(c.argv)}: a stack on stderr: ${r.stderr}`);
      t.true(lines[0]!.startsWith('wampmesh: '), `${show(c.argv)}: ${r.stderr}`);
      // A refused file: one line per problem; a command line: the problem, then "Try 'wampmesh --help'";
      // an unusable data folder: one line.
      if (c.code === 2) t.is(lines.at(-1), "Try 'wampmesh --help'.", r.stderr);
      else if (c.argv[1] === '--config')
        t.true(
          lines.every((l, k) => l.startsWith(`${k === 0 ? 'wampmesh: ' : ''}${c.argv[2]}: `)),
          r.stderr,
        );
      else t.is(lines.length, 1, r.stderr);
    });
  } finally {
    fuzz.dispose();
  }
});

// ---- regressions: what the fuzz found ------------------------------------------------------------

test('regression: a config file with a byte order mark loads; a JSON mistake and odd keys stay on one line per problem', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-config-fuzz-'));
  try {
    const bom = path.join(dir, 'bom.json');
    fs.writeFileSync(bom, `\ufeff${JSON.stringify({ logLevel: 'info' })}`);
    t.is(loadConfig(bom).logLevel, 'info');
    // V8 quotes the text around a syntax error, line breaks and all.
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{\n  "logLevel": info\n}\n');
    const syntax = t.throws(() => loadConfig(broken), { instanceOf: ConfigError });
    t.is(syntax.message.split('\n').length, 1, syntax.message);
    t.regex(syntax.message, /^.*broken\.json: not valid JSON: .*\\n/);
    // A key is named as written, control characters escaped, an empty one as "".
    const keys = path.join(dir, 'keys.json');
    fs.writeFileSync(keys, JSON.stringify({ limits: { 'a\nb': 1, '\u001b[2J': 2 }, '': 3 }));
    const odd = t.throws(() => loadConfig(keys), { instanceOf: ConfigError });
    t.deepEqual(odd.issues.map((i) => i.field).sort(), ['""', 'limits.\\u001b[2J', 'limits.a\\nb'].sort());
    t.is(odd.message.split('\n').length, 3, odd.message);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('regression: an unknown short option in a group is named as typed', (t) => {
  // parseArgs reads "-V=1" as -V, -= and -1, and named '-='.
  t.throws(() => parseCommandLine(['-V=1']), { instanceOf: UsageError, message: "unknown option '-V=1'" });
  t.throws(() => parseCommandLine(['serve', '-hx']), { instanceOf: UsageError, message: "unknown option '-hx'" });
  t.throws(() => parseCommandLine(['serve', '--frob=1']), {
    instanceOf: UsageError,
    message: "unknown option '--frob'",
  });
});

test('regression: a data folder under /proc fails at once instead of hanging', async (t) => {
  t.timeout(10_000);
  // Node's recursive mkdir retried forever at full CPU on /proc's ENOENT.
  const error = await t.throwsAsync(
    startServer(
      {
        ...loadConfig(),
        dataDir: '/proc/wampmesh-regression/data',
        listeners: { websocket: [], rawsocket: [], unix: [], http: [], mqtt: [] },
      },
      silent,
    ),
    { instanceOf: StartError },
  );
  t.regex(error.message, /cannot create data folder \/proc\/wampmesh-regression\/data: ENOENT/);
});

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};
