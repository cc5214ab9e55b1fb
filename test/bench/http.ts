// HTTP gateway rows of the benchmark (`npm run bench`, or alone: `scripts/node24
// test/bench/http.ts`): requests/s and p99 latency of POST -> call -> callee -> 200 over
// keep-alive connections, driven by Debian's wrk, against
//   - the gateway on the WebSocket listener's port (uWebSockets.js),
//   - the gateway on a listener of its own (node:http),
//   - a bare uWebSockets.js handler answering the same JSON with no WAMP (http-bare.ts): the
//     ceiling, measured in the same run.
// The callee is a raw RawSocket/CBOR client in this process (test/helpers/raw-client.ts), a
// WAMP session that joins and registers as any other, which answers each INVOCATION with its
// arguments: the YIELD is made from the INVOCATION's bytes (echoYield), as the RPC rows'
// callee pre-encodes its answers, so it costs the machine little beside the router. The route
// returns args[0], so the gateway's answer is the posted JSON, as the bare handler's is. Rounds interleave
// the three targets; medians are printed, with the CPU time each process spent per request.
// On 2 cores wrk, the router and the callee share the CPU: the ratio to the ceiling is the
// figure to read, and the CPU columns say which process a request costs most.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from '../helpers/raw-client.ts';
import { cbor } from '../../src/serializers/index.ts';
import { freePort } from '../helpers/free-port.ts';
import { startRouter } from '../helpers/router-process.ts';
import { machineBusyMs, median, processCpuMs, startChild } from './common.ts';

const run = promisify(execFile);
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

const DURATION_S = Number(process.env.HTTP_BENCH_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.HTTP_BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.HTTP_BENCH_ROUNDS ?? 3);
const BODY = JSON.stringify({ sensor: 'kitchen', value: 21.5, tags: ['a', 'b'] });

export interface HttpFigures {
  readonly name: string;
  readonly rps: number;
  readonly p99ms: number;
  readonly errors: number;
  /** CPU µs per request: the target (router or bare handler), the callee (this process), wrk, and the rest of the machine. */
  readonly cpu: { readonly target: number; readonly callee: number; readonly wrk: number; readonly other: number };
}

type Round = Omit<HttpFigures, 'name'>;

/**
 * One wrk run: requests/s, p99 in ms, non-2xx or socket errors, and the CPU time each
 * process spent per request (wrk's from the shell's `times`, the target's from /proc).
 */
async function wrk(url: string, script: string, targetPid: number): Promise<Round> {
  const before = { target: processCpuMs(targetPid), self: process.cpuUsage(), machine: machineBusyMs() };
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${DURATION_S}s`, '--latency', '-s', script, url];
  const { stdout } = await run('sh', ['-c', 'wrk "$@" && times', 'sh', ...args], {
    timeout: (DURATION_S + 30) * 1000,
  });
  const targetMs = processCpuMs(targetPid) - before.target;
  const self = process.cpuUsage(before.self);
  const calleeMs = (self.user + self.system) / 1000;
  const machineMs = machineBusyMs() - before.machine;
  // `times` prints the shell's own user and system time, then its children's (wrk's).
  const times = [...stdout.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60_000 + Number(m[2]) * 1000);
  const wrkMs = (times[2] ?? 0) + (times[3] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? Number.NaN);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)$/m.exec(stdout);
  const unit = { us: 0.001, ms: 1, s: 1000 } as const;
  const p99ms = p99 === null ? Number.NaN : Number(p99[1]) * unit[p99[2] as keyof typeof unit];
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const errors = non2xx + (sock === null ? 0 : sock.slice(1).reduce((a, x) => a + Number(x), 0));
  const requests = rps * DURATION_S;
  const perRequest = (ms: number): number => (ms * 1000) / requests;
  const cpu = {
    target: perRequest(targetMs),
    callee: perRequest(calleeMs),
    wrk: perRequest(wrkMs),
    other: perRequest(Math.max(0, machineMs - targetMs - calleeMs - wrkMs)),
  };
  return { rps, p99ms, errors, cpu };
}

/** Octets of the CBOR unsigned integer at `at` (major type 0), or 0 when there is none. */
function cborUintSize(bytes: Uint8Array, at: number): number {
  const b = bytes[at];
  if (b === undefined || b > 0x1b) return 0;
  return b < 0x18 ? 1 : 1 + 2 ** (b - 0x18);
}

/**
 * The echo callee's answer, made from the INVOCATION's own bytes, framed for RawSocket:
 * INVOCATION [68, id, registration, {}, args, kwargs?] -> YIELD [70, id, {}, args, kwargs?],
 * the ID and the arguments copied as they were encoded (what the router passes through for
 * its own callers). undefined when the frame is laid out otherwise (then it is decoded).
 */
function echoYield(frame: Uint8Array): Buffer | undefined {
  const head = frame[0]!;
  // array(5) or array(6), then uint8 68.
  if ((head !== 0x85 && head !== 0x86) || frame[1] !== 0x18 || frame[2] !== 68) return undefined;
  const id = cborUintSize(frame, 3);
  const registration = id === 0 ? 0 : cborUintSize(frame, 3 + id);
  const details = 3 + id + registration;
  if (id === 0 || registration === 0 || frame[details] !== 0xa0) return undefined;
  const rest = frame.subarray(details + 1);
  const size = 3 + id + 1 + rest.length;
  const out = Buffer.allocUnsafe(4 + size);
  out[0] = 0;
  out.writeUIntBE(size, 1, 3);
  out[4] = head - 1; // one element fewer: no registration
  out[5] = 0x18;
  out[6] = 70;
  out.set(frame.subarray(3, 3 + id), 7);
  out[7 + id] = 0xa0;
  out.set(rest, 8 + id);
  return out;
}

/**
 * A router serving the bench API on the WebSocket listener's port (uWS) and on a node:http
 * listener, with its echo callee; `bin`: another checkout's scripts/wampmesh (BENCH_BASE).
 */
async function startGateway(
  dir: string,
  bin: string | undefined,
): Promise<{ uwsUrl: string; nodeUrl: string; pid: number; cleanup: (() => unknown)[] }> {
  const sharedPort = await freePort();
  const api = {
    name: 'bench',
    realm: 'realm1',
    basePath: '/bench',
    routes: [{ method: 'POST', path: '/echo', call: 'com.bench.echo', result: 'first' }],
  };
  const config = path.join(dir, `config-${sharedPort}.json`);
  fs.writeFileSync(
    config,
    JSON.stringify({
      realms: [{ uri: 'realm1', anonymous: true }],
      listeners: {
        websocket: [{ host: '127.0.0.1', port: sharedPort, path: '/ws' }],
        rawsocket: [{ host: '127.0.0.1', port: 0 }],
        http: [
          { host: '127.0.0.1', port: sharedPort, serve: ['gateway'] },
          { host: '127.0.0.1', port: 0, serve: ['gateway'] },
        ],
      },
      gateway: { apis: [api], maxInFlight: 1024 },
    }),
  );
  const routerEnv =
    process.env.BENCH_ROUTER_NODE_OPTIONS === undefined
      ? undefined
      : { ...process.env, NODE_OPTIONS: process.env.BENCH_ROUTER_NODE_OPTIONS };
  const router = await startRouter({
    args: ['--config', config],
    ...(routerEnv && { env: routerEnv }),
    ...(bin !== undefined && { bin }),
  });
  const cleanup: (() => unknown)[] = [() => router.stop()];
  const callee = await connect({ transport: 'rawsocket', port: router.rawsocketPort, serializer: 'cbor' });
  cleanup.push(() => callee.destroy());
  await callee.join();
  await callee.register('com.bench.echo');
  callee.rawMode((frame) => {
    const reply = typeof frame === 'string' ? undefined : echoYield(frame);
    if (reply !== undefined) return callee.sendFramed(reply);
    // Anything not laid out as expected is decoded: INVOCATION [68, id, reg, {}, args, kwargs?].
    const m = cbor.decode(typeof frame === 'string' ? Buffer.from(frame) : frame) as unknown[];
    if (m[0] === 68) callee.send([70, m[1], {}, ...m.slice(4)]);
  });
  const nodePort = router.listeners.find((l) => l.transport === 'http' && l.port !== sharedPort)!.port;
  return {
    uwsUrl: `http://127.0.0.1:${sharedPort}/bench/echo`,
    nodeUrl: `http://127.0.0.1:${nodePort}/bench/echo`,
    pid: router.pid,
    cleanup,
  };
}

export async function benchHttp(): Promise<HttpFigures[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-httpbench-'));
  const cleanup: (() => unknown)[] = [() => fs.rmSync(dir, { recursive: true, force: true })];
  try {
    const script = path.join(dir, 'post.lua');
    fs.writeFileSync(
      script,
      `wrk.method = "POST"\nwrk.body = ${JSON.stringify(BODY)}\nwrk.headers["Content-Type"] = "application/json"\n`,
    );
    const bare = await startChild(here('http-bare.ts'));
    cleanup.push(() => bare.stop());
    const targets: { name: string; url: string; pid: number }[] = [
      {
        name: 'bare uWS handler (no WAMP)',
        url: `http://127.0.0.1:${bare.hello.httpBare as number}/echo`,
        pid: bare.pid,
      },
    ];
    const trees: [string, string | undefined][] = [['', undefined]];
    if (process.env.BENCH_BASE !== undefined) trees.push([' (base)', process.env.BENCH_BASE]);
    for (const [label, bin] of trees) {
      const g = await startGateway(dir, bin);
      cleanup.push(...g.cleanup);
      targets.push(
        { name: `gateway${label} on uWS (WebSocket port)`, url: g.uwsUrl, pid: g.pid },
        { name: `gateway${label} on node:http`, url: g.nodeUrl, pid: g.pid },
      );
    }
    // A check that each target answers what the others do before timing anything.
    for (const t of targets) {
      const r = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
      const text = await r.text();
      if (r.status !== 200 || text !== BODY) throw new Error(`${t.name}: ${r.status} ${text}`);
    }
    const results = new Map<string, Round[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) {
        const list = results.get(t.name) ?? [];
        list.push(await wrk(t.url, script, t.pid));
        results.set(t.name, list);
      }
    }
    return targets.map((t) => {
      const rs = results.get(t.name)!;
      const cpu = (k: keyof Round['cpu']): number => median(rs.map((r) => r.cpu[k]));
      return {
        name: t.name,
        rps: median(rs.map((r) => r.rps)),
        p99ms: median(rs.map((r) => r.p99ms)),
        errors: rs.reduce((a, r) => a + r.errors, 0),
        cpu: { target: cpu('target'), callee: cpu('callee'), wrk: cpu('wrk'), other: cpu('other') },
      };
    });
  } finally {
    for (const c of cleanup.reverse()) await c();
  }
}

export function httpTable(figures: readonly HttpFigures[]): string {
  const ceiling = figures[0]!.rps;
  const lines = [
    `HTTP gateway: POST -> call -> callee -> 200, keep-alive, wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s, median of ${ROUNDS}`,
    'CPU µs per request: the target process (router or bare handler), the callee (the bench process), wrk, and the rest of the machine',
    `${'target'.padEnd(40)}${'req/s'.padStart(10)}${'p99 ms'.padStart(9)}${'vs ceiling'.padStart(12)}${'errors'.padStart(8)}` +
      `   ${'CPU µs/req: target | callee | wrk | other'}`,
    ...figures.map(
      (f) =>
        `${f.name.padEnd(40)}${Math.round(f.rps).toLocaleString('en-US').padStart(10)}${f.p99ms.toFixed(2).padStart(9)}` +
        `${`${Math.round((f.rps / ceiling) * 100)}%`.padStart(12)}${String(f.errors).padStart(8)}` +
        `   ${[f.cpu.target, f.cpu.callee, f.cpu.wrk, f.cpu.other].map((x) => x.toFixed(1)).join(' | ')}`,
    ),
  ];
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  benchHttp()
    .then((f) => console.log(httpTable(f)))
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
