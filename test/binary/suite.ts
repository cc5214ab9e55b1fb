// The shared part of the suites against the BUILT single executables (binary.test.ts): the
// build and the runners prepared once per file, routers a test started stopped after it, and
// small helpers for configs, ports and call round-trips.

import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import type { RawClient } from '../helpers/raw-client.ts';
import { buildBinaries, prepareRunner, startBinary, type Arch, type BinaryRouter, type Runner } from './harness.ts';

/**
 * Registers the file's hooks: the executables built (or found up to date) and their runners
 * prepared before its tests, every router a test started stopped after it.
 */
export function useBuiltRouters(): void {
  if (skip) {
    process.stderr.write(
      '\n*** test/binary: SKIPPED (WAMPMESH_SKIP_BINARY=1): the built executables are NOT tested ***\n\n',
    );
  }
  test.afterEach.always(async () => {
    await Promise.all([...started].map((r) => r.stop(5_000)));
  });

  test.before(() => {
    if (skip) return;
    const build = buildBinaries();
    process.stderr.write(`test/binary: build ${build.seconds.toFixed(1)} s: ${build.log.split('\n').at(-1)}\n`);
    for (const arch of ['x64', 'arm64'] as const) {
      const p = prepareRunner(arch);
      if (p.ok) runners.set(arch, p.runner);
      else {
        unavailable.set(arch, p.reason);
        process.stderr.write(`\n*** test/binary: ${arch} binary NOT tested here: ${p.reason} ***\n\n`);
      }
    }
  });
}

export const skip = process.env.WAMPMESH_SKIP_BINARY === '1';

const runners = new Map<Arch, Runner>();
// Every router a test starts, so a failing assertion never leaves one running (its pipes
// would keep the worker alive).
const started = new Set<BinaryRouter>();
const unavailable = new Map<Arch, string>();
export async function start(...args: Parameters<typeof startBinary>): Promise<BinaryRouter> {
  const r = await startBinary(...args);
  started.add(r);
  void r.exited.then(() => started.delete(r));
  return r;
}
export function runnerOr(t: { log(...v: unknown[]): void; pass(): void }, arch: Arch): Runner | undefined {
  const r = runners.get(arch);
  if (!r) {
    t.log(`SKIPPED: ${unavailable.get(arch) ?? 'not prepared'}`);
    t.pass();
  }
  return r;
}

export const VERSION_LINE =
  /^wampmesh \d+\.\d+\.\d+\S* \(([0-9a-f]{7}(-dirty)?|unknown|\S+)\) built \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, node v24\.\d+\.\d+ linux-(x64|arm64)$/;

export function config(dir: string, listeners: Record<string, unknown>): string {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ dataDir: path.join(dir, 'data'), logLevel: 'info', listeners }));
  return file;
}

export const BOTH = {
  websocket: [{ host: '127.0.0.1', port: 0, path: '/ws' }],
  rawsocket: [{ host: '127.0.0.1', port: 0 }],
};

export function port(router: BinaryRouter, transport: string): number {
  const l = router.listeners.find((x) => x.transport === transport);
  if (!l) throw new Error(`no ${transport} listener in ${JSON.stringify(router.listeners)}`);
  return l.port;
}

export async function roundTrip(caller: RawClient, procedure: string, token: string): Promise<void> {
  const reply = await caller.call(procedure, [token], {}, 20_000);
  if (reply[0] !== 50 || JSON.stringify(reply[3]) !== JSON.stringify([token]))
    throw new Error(`call got ${JSON.stringify(reply)}`);
}
