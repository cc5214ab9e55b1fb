// One seed of the config fuzz (config-fuzz.test.ts): files loaded and taken through what serve
// does next, a few started in-process, command lines parsed, and every refusal checked to be a
// ConfigError, StartError or UsageError that names what is wrong.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAdmin } from '../../src/cli/admin.ts';
import { applyServeFlags, parseCommandLine, type ServeFlags } from '../../src/cli/args.ts';
import { StartError, UsageError } from '../../src/cli/errors.ts';
import { startServer, toRealmConfig } from '../../src/cli/serve.ts';
import { ConfigError, loadConfig, type Config } from '../../src/config/config.ts';
import { CONFIG_FILE_MAX } from '../../src/config/config-file.ts';
import type { Logger } from '../../src/log.ts';
import { Router } from '../../src/router/router.ts';
import { decideWebSocket } from '../../src/runtime/websocket-policy.ts';
import { Rng } from '../helpers/fuzz-input.ts';
import { Violation, show } from '../helpers/fuzz-checks.ts';
import { ADMIN_ARGV, ADMIN_OPTIONS, mutateArgv, SERVE_ARGV, SERVE_OPTIONS } from './config-fuzz-argv.ts';
import { BASES, mutateDocument, mutateText, type Segment } from './config-fuzz-files.ts';

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
 * the second of two realms with one URI, mesh.cluster.secret for mesh.enabled,
 * limits.preAuthWebSocketBytes for a WebSocket listener's maxMessageSize). Compared as the
 * paths are written, so that keys with dots or brackets in them compare as they are.
 */
function related(field: string, changed: Segment[]): boolean {
  if (changed.length === 0) return true;
  // limits.preAuthWebSocketBytes must hold every WebSocket listener's maxMessageSize: a changed
  // listener is blamed there too, naming it.
  if (field === 'limits.preAuthWebSocketBytes' && changed[0] === 'listeners' && changed[1] === 'websocket') return true;
  // The list or object that holds the change (a list left too short), but not further up.
  if (field === fieldPath(changed.slice(0, -1))) return true;
  for (let k = Math.max(1, changed.length - 2); k <= changed.length; k++) {
    const prefix = fieldPath(changed.slice(0, k));
    if (field === prefix || field.startsWith(`${prefix}.`) || field.startsWith(`${prefix}[`)) return true;
  }
  return false;
}

export const STACK_LINE = /^\s+at .+[(:]\d+/m;

export class ConfigFuzz {
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
        // Only a file that is not JSON, or not an object, or over the size a config may have
        // (a mutation can grow it past), is wrong as a whole.
        const tooLarge = Buffer.byteLength(text) > CONFIG_FILE_MAX;
        if (tooLarge !== /over the \d+ (bytes )?\(1 MiB\) a config file may have/.test(e.message))
          this.fail(`${tooLarge ? 'too large yet refused' : 'refused for its size'} otherwise: ${e.message}`);
        if (!tooLarge && paths !== undefined && !paths.some((p) => p.length === 0))
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
export function unusableDataDirs(dir: string): string[] {
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, '');
  return ['/proc/wampmesh-fuzz/data', '/proc/wampmesh-fuzz', path.join(file, 'data'), path.join(dir, 'x'.repeat(120))];
}
