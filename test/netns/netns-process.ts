// A process started inside a namespace, read line by line (stdout, JSON events, stderr) with
// deadlines whose errors carry the output's tail, and stopped with SIGTERM, then SIGKILL.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { terminate } from '../helpers/router-process.ts';
import { liveProcesses } from './netns-exit.ts';
import { node24, repoRoot } from './netns-paths.ts';

export type LineMatcher = RegExp | ((line: string) => boolean);

export interface NsProcess {
  readonly name: string;
  readonly pid: number;
  /** Every complete stdout line so far (bounded: the oldest go first). */
  lines(): readonly string[];
  stdout(): string;
  stderr(): string;
  /** stdout lines that are JSON objects. */
  events(): Record<string, unknown>[];
  /**
   * Resolves with the first stdout line (already printed or still to come, counting from line
   * `from`) that matches; rejects at the deadline or when the process exits first, with the
   * output's tail in the message.
   */
  waitForLine(match: LineMatcher, timeoutMs: number, from?: number): Promise<string>;
  /** The same for a JSON event line: `match` gets the parsed object. */
  waitForEvent(
    match: (e: Record<string, unknown>) => boolean,
    timeoutMs: number,
    from?: number,
  ): Promise<Record<string, unknown>>;
  /** Same for stderr (logs), line by line. */
  waitForStderr(match: LineMatcher, timeoutMs: number): Promise<string>;
  /** Writes one line to stdin (for processes started with stdin: true). */
  send(line: string): void;
  /** SIGTERM, then SIGKILL after killAfterMs (default 5 s). Resolves with the exit code (128+n for signal n). */
  stop(killAfterMs?: number): Promise<number>;
  /** SIGKILL at once (a crash, a power cut). */
  kill(): Promise<number>;
  readonly exited: Promise<number>;
  hasExited(): boolean;
}

export interface StartOptions {
  name?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdin?: boolean;
}

const MAX_CAPTURE = 512 * 1024;
const MAX_LINES = 20_000;

/** Starts `command args` inside namespace `ns` (`ip netns exec`, which execs: same pid). */
export function startInNetns(
  ns: string,
  command: string,
  args: readonly string[],
  options: StartOptions = {},
): NsProcess {
  const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? process.env,
    stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  liveProcesses.add(child);
  const name = options.name ?? `${ns}:${command.split('/').at(-1)}`;
  let stdout = '';
  let stderr = '';
  let partial = '';
  let stderrPartial = '';
  const lines: string[] = [];
  let dropped = 0;
  const lineWaiters = new Set<() => void>();
  const stderrWaiters = new Set<(line: string) => void>();
  const stderrLines: string[] = [];
  let exitCode: number | undefined;

  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout = (stdout + chunk).slice(-MAX_CAPTURE);
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      lines.push(partial.slice(0, nl).replace(/\r$/, ''));
      partial = partial.slice(nl + 1);
      if (lines.length > MAX_LINES) {
        lines.shift();
        dropped++;
      }
    }
    for (const w of [...lineWaiters]) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-MAX_CAPTURE);
    stderrPartial += chunk;
    let nl: number;
    while ((nl = stderrPartial.indexOf('\n')) >= 0) {
      const line = stderrPartial.slice(0, nl);
      stderrPartial = stderrPartial.slice(nl + 1);
      stderrLines.push(line);
      if (stderrLines.length > MAX_LINES) stderrLines.shift();
      for (const w of [...stderrWaiters]) w(line);
    }
  });
  const exited = new Promise<number>((resolve) => {
    const done = (code: number): void => {
      if (exitCode !== undefined) return;
      exitCode = code;
      liveProcesses.delete(child);
      for (const w of [...lineWaiters]) w();
      for (const w of [...stderrWaiters]) w('');
      resolve(code);
    };
    child.once('close', (code, signal) => done(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0)));
    child.once('error', (err) => {
      stderr += `\nspawn failed: ${err.message}`;
      if (child.pid === undefined) done(-1);
    });
  });

  const describe = (why: string): string =>
    `${name} ${why}\n  command: ip netns exec ${ns} ${command} ${args.join(' ')}\n  stdout tail: ${stdout.slice(-3000)}\n  stderr tail: ${stderr.slice(-5000)}`;
  const test = (match: LineMatcher, line: string): boolean =>
    typeof match === 'function' ? match(line) : match.test(line);

  const waitForLine = (match: LineMatcher, timeoutMs: number, from = 0): Promise<string> =>
    new Promise((resolve, reject) => {
      let next = Math.max(0, from - dropped);
      const check = (): void => {
        for (; next < lines.length; next++) {
          const line = lines[next]!;
          if (test(match, line)) {
            finish();
            resolve(line);
            return;
          }
        }
        if (exitCode !== undefined) {
          finish();
          reject(new Error(describe(`exited (${exitCode}) before printing a line matching ${String(match)}`)));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(describe(`printed no line matching ${String(match)} within ${timeoutMs} ms`)));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        lineWaiters.delete(check);
      };
      lineWaiters.add(check);
      check();
    });

  const parse = (line: string): Record<string, unknown> | undefined => {
    if (!line.startsWith('{')) return undefined;
    try {
      const v: unknown = JSON.parse(line);
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };

  let stopping: Promise<number> | undefined;
  return {
    name,
    pid: child.pid ?? -1,
    lines: () => lines,
    stdout: () => stdout,
    stderr: () => stderr,
    events: () => lines.map(parse).filter((e): e is Record<string, unknown> => e !== undefined),
    waitForLine,
    async waitForEvent(match, timeoutMs, from = 0) {
      const line = await waitForLine(
        (l) => {
          const e = parse(l);
          return e !== undefined && match(e);
        },
        timeoutMs,
        from,
      );
      return parse(line)!;
    },
    waitForStderr: (match, timeoutMs) =>
      new Promise((resolve, reject) => {
        const found = stderrLines.find((l) => test(match, l));
        if (found !== undefined) {
          resolve(found);
          return;
        }
        const waiter = (line: string): void => {
          if (exitCode === undefined && !test(match, line)) return;
          clearTimeout(timer);
          stderrWaiters.delete(waiter);
          if (test(match, line)) resolve(line);
          else reject(new Error(describe(`exited (${exitCode}) before logging a line matching ${String(match)}`)));
        };
        const timer = setTimeout(() => {
          stderrWaiters.delete(waiter);
          reject(new Error(describe(`logged no line matching ${String(match)} within ${timeoutMs} ms`)));
        }, timeoutMs);
        stderrWaiters.add(waiter);
        if (exitCode !== undefined) waiter('');
      }),
    send(line) {
      if (child.stdin === null) throw new Error(`${name} was started without stdin`);
      child.stdin.write(line.endsWith('\n') ? line : `${line}\n`);
    },
    stop(killAfterMs = 5_000) {
      stopping ??= exitCode !== undefined ? Promise.resolve(exitCode) : terminate(child, exited, killAfterMs);
      return stopping;
    },
    kill() {
      if (exitCode === undefined) child.kill('SIGKILL');
      return exited;
    },
    exited,
    hasExited: () => exitCode !== undefined,
  };
}

/** Starts a TypeScript file of this repo with the project's Node 24, inside `ns`. */
export function startNodeInNetns(
  ns: string,
  script: string,
  args: readonly string[],
  options: StartOptions = {},
): NsProcess {
  return startInNetns(ns, node24, [join(repoRoot, script), ...args], options);
}
