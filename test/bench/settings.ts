// What the environment asks of `npm run bench` (BENCH_ONLY, BENCH_BASE, BENCH_NEXUS,
// BENCH_ROUTER_NODE_OPTIONS, ...) and the fixed sizes of its runs, read once for every module.

import { fileURLToPath } from 'node:url';

export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// BENCH_ONLY=payload: one string argument of these sizes, echoed (sensor-like text, not one
// repeated octet, so nothing on the way can shortcut it).
// Keys (relay-10k, router-rpc-10k, base-rpc-10k, ...), row names, payloads.
export const LARGE_PAYLOADS: readonly (readonly [string, string, string])[] = [
  ['10k', '10 KB', 'reading 0123456789 abcdefghij, '.repeat(320)],
  ['1m', '1 MB', 'reading 0123456789 abcdefghij, '.repeat(32_768)],
];
// Time for the rounds (connections come after): a round is started only if it should end
// within it, judged by the rounds so far. BENCH_BASE doubles the router rows, and the budget;
// BENCH_NEXUS adds four rows of about 5 s each a round.
export const BUDGET_MS =
  Number(
    process.env.BENCH_BUDGET_S ??
      (process.env.BENCH_BASE === undefined ? 210 : 420) + (process.env.BENCH_NEXUS === undefined ? 0 : 60),
  ) * 1000;
export const FANOUT_CHILDREN = 2;
/** Subscribers on D of the mesh event run: few, so that the links bound the rate, not the fan-out. */
export const MESH_SUBSCRIBERS = 10;
export const CONNECTIONS = 10_000;
export const CONN_CHILDREN = 4;
export const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

export const only = new Set(
  (process.env.BENCH_ONLY ?? 'rpc,payload,fanout,mesh,connections,startup,mqtt,http,bridge')
    .split(',')
    .map((s) => s.trim()),
);
export const baseBin = process.env.BENCH_BASE;
export const nexusBin = process.env.BENCH_NEXUS;
/** The nexus row to compare a router row with, when nexus is in the run. */
export const vsNexus = (key: string): string[] => (nexusBin === undefined ? [] : [`nexus-${key}`]);
export const routerEnv =
  process.env.BENCH_ROUTER_NODE_OPTIONS === undefined
    ? undefined
    : {
        ...process.env,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${process.env.BENCH_ROUTER_NODE_OPTIONS}`.trim(),
      };
