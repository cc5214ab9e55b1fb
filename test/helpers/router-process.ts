// Starts the real router (`scripts/wampmesh serve`) as a child process, the way an operator
// would, so tests exercise the CLI, config parsing and the real listeners rather than an
// in-process object graph. Ports are chosen by the OS (":0") and read back from the one JSON
// line the CLI prints once it is listening.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as osConstants } from 'node:os';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const wampmeshBin = join(repoRoot, 'scripts', 'wampmesh');

export interface RouterProcess {
  /** e.g. "ws://127.0.0.1:40123/ws" */
  readonly wsUrl: string;
  readonly wsHost: string;
  readonly wsPort: number;
  readonly rawsocketHost: string;
  readonly rawsocketPort: number;
  readonly pid: number;
  /** Every listener of the listening line (including mesh links when enabled). */
  readonly listeners: readonly ListenerLine[];
  readonly dataDir: string;
  /** Everything the router wrote to stderr so far (bounded; the tail is kept). */
  stderr(): string;
  /** Everything after the listening line on stdout so far (bounded; the tail is kept). */
  stdout(): string;
  /**
   * SIGTERM, wait, SIGKILL after `killAfterMs` (default 5 s). Resolves with the exit code;
   * a death by signal is reported as 128 + signal number, like a shell does. Idempotent.
   */
  stop(killAfterMs?: number): Promise<number>;
}

export interface StartRouterOptions {
  /** Replaces the default listener arguments (everything after `serve`, except --data). */
  args?: string[];
  /** How long to wait for the listening line (default 20 s: a cold CI box is slow). */
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Use this data folder (kept after exit, e.g. to restart on the same state); default: a temp one, removed on exit. */
  dataDir?: string;
  /** The executable to run; default this checkout's scripts/wampmesh (the benchmark compares another checkout's). */
  bin?: string;
  /** A command that runs the router, e.g. ['prlimit', '--nofile=64:64'] (it must exec it, keeping the pid). */
  wrapper?: string[];
  /** A router without WebSocket (uWebSockets.js cannot load) is expected: wsUrl is then ''. */
  noWebSocket?: boolean;
}

export interface ListenerLine {
  transport: string;
  host: string;
  port: number;
  path?: string;
  node?: string;
}

const DEFAULT_ARGS = ['--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0'];
// Diagnostics only; a chatty router must not grow the test's memory without bound.
const MAX_CAPTURE = 256 * 1024;

// A test worker that crashes or is killed by ava's timeout must not leave routers behind
// holding ports and temp dirs. 'exit' handlers must be synchronous, hence SIGKILL.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function appendBounded(buffer: string, chunk: string): string {
  const next = buffer + chunk;
  return next.length > MAX_CAPTURE ? next.slice(next.length - MAX_CAPTURE) : next;
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const signum = signal ? osConstants.signals[signal] : undefined;
  return 128 + (signum ?? 0);
}

export async function startRouter(options: StartRouterOptions = {}): Promise<RouterProcess> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'wampmesh-test-'));
  const args = ['serve', ...(options.args ?? DEFAULT_ARGS), '--data', dataDir];
  const bin = options.bin ?? wampmeshBin;
  const [command, ...commandArgs] = [...(options.wrapper ?? []), bin, ...args];
  const child = spawn(command!, commandArgs, {
    cwd: repoRoot,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);

  let stderr = '';
  let stdoutRest = '';
  child.stderr.setEncoding('utf8');
  // Keep draining both pipes for the router's whole life: a full pipe would block its writes.
  child.stderr.on('data', (chunk: string) => {
    stderr = appendBounded(stderr, chunk);
  });

  let spawnError: Error | undefined;
  const exited = new Promise<number>((resolve) => {
    const done = (code: number): void => {
      live.delete(child);
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      resolve(code);
    };
    // 'close' rather than 'exit': it fires after the pipes are drained, so stderr is complete.
    child.once('close', (code, signal) => done(exitCodeOf(code, signal)));
    // A failed spawn (ENOENT, EACCES) may never emit 'close'.
    child.once('error', (error) => {
      spawnError = error;
      if (child.pid === undefined) done(-1);
    });
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });

  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const listeners = await new Promise<ListenerLine[]>((resolve, reject) => {
    let pending = '';
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      // Report only once the process is gone and its pipes are drained, so stderr is whole.
      void exited.then(() =>
        reject(
          new Error(
            `router ${why}\n  command: ${bin} ${args.join(' ')}\n  stdout: ${pending.slice(0, 4000)}\n  stderr: ${stderr.slice(-8000)}`,
          ),
        ),
      );
    };
    const timer = setTimeout(() => fail(`printed no listening line within ${startTimeoutMs} ms`), startTimeoutMs);
    void exited.then((code) =>
      fail(spawnError ? `could not be spawned: ${spawnError.message}` : `exited with code ${code} before listening`),
    );

    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (settled) {
        stdoutRest = appendBounded(stdoutRest, chunk);
        return;
      }
      pending += chunk;
      let newline: number;
      while (!settled && (newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        const parsed = parseListening(line);
        if (parsed) {
          settled = true;
          clearTimeout(timer);
          stdoutRest = pending;
          resolve(parsed);
        }
      }
    });
  });

  const ws = listeners.find((l) => l.transport === 'websocket');
  const rs = listeners.find((l) => l.transport === 'rawsocket');
  if ((!ws && options.noWebSocket !== true) || !rs) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`router listening line lacks a websocket or rawsocket listener: ${JSON.stringify(listeners)}`);
  }

  let stopping: Promise<number> | undefined;
  return {
    wsUrl: ws ? `ws://${hostForUrl(ws.host)}:${ws.port}${ws.path ?? '/ws'}` : '',
    wsHost: ws?.host ?? '',
    wsPort: ws?.port ?? 0,
    rawsocketHost: rs.host,
    rawsocketPort: rs.port,
    pid: child.pid ?? -1,
    listeners,
    dataDir,
    stderr: () => stderr,
    stdout: () => stdoutRest,
    stop(killAfterMs = 5_000): Promise<number> {
      stopping ??= hasExited ? exited : terminate(child, exited, killAfterMs);
      return stopping;
    },
  };
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function parseListening(line: string): ListenerLine[] | undefined {
  if (!line.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as { event?: unknown; listeners?: unknown };
  if (record.event !== 'listening' || !Array.isArray(record.listeners)) return undefined;
  return record.listeners.filter(
    (l): l is ListenerLine =>
      typeof l === 'object' &&
      l !== null &&
      typeof (l as ListenerLine).transport === 'string' &&
      typeof (l as ListenerLine).host === 'string' &&
      typeof (l as ListenerLine).port === 'number',
  );
}

/** SIGTERM, then SIGKILL if the process has not exited after `killAfterMs`; its exit code. */
export async function terminate(child: ChildProcess, exited: Promise<number>, killAfterMs: number): Promise<number> {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}
