// wampmesh benchmark (`npm run bench`): RPC latency and throughput on loopback.
//
// What runs:
//   - the real router as a child process (`scripts/wampmesh serve`, test/helpers/router-process.ts);
//   - a baseline relay as another child process (this file with --relay): a RawSocket server
//     that pairs connections two by two and forwards frames between them, with the router's own
//     framing code (src/transport/rawsocket-framing.ts) and the same per-tick corking, but no
//     WAMP at all: no decoding, no session, no routing. Its figures are the floor that the
//     transport, the kernel and the load generator impose; each router figure is printed with
//     its ratio to it;
//   - the load generator, in this process: a caller and a callee on test/helpers/raw-client.ts
//     in low-overhead mode. CALL frames are pre-encoded once and only the fixed-width request
//     ID is patched per call; RESULT IDs are read at a fixed offset. The callee decodes each
//     INVOCATION (or, behind the relay, the CALL itself) and encodes a YIELD (or RESULT), so the
//     generator does the same work per call against the router and against the relay.
// Measured per target: sequential latency (p50/p99 of 5,000 calls after 1,000 warm-up calls),
// and pipelined throughput (1,000 calls kept in flight for 5 s after a 0.5 s warm-up). Three
// rounds over all targets, interleaved; the table shows medians, then the spread.
//
// Is the generator the bottleneck? During every measurement the CPU time of the generator
// (process.cpuUsage) and of the target process (utime+stime from /proc/<pid>/stat) is sampled
// and printed as a share of one core. A saturated target (~100%) with the generator below it
// means the figure is the target's; a generator at ~100% means the figure is a lower bound for
// the target, and the table says so. On a 2-core box generator and target compete for CPU in
// the pipelined runs in both the relay and the router case alike, so the ratios remain fair.
//
// Checked so far (2-vCPU VM shared with other jobs): in the pipelined runs the relay, the router
// and the generator each stay well under one core while the machine as a whole is busy ("other
// CPU"), i.e. the figures are CPU-starved by the box, not by the generator; a --cpu-prof of the
// router during the WebSocket/JSON run showed it ~60% idle. Read ratios, not absolutes, and
// rerun on a quiet machine for absolute figures.
//
// BENCH_WS=net drives WebSocket with raw-client's own RFC 6455 client instead of Node's
// (undici) WebSocket, to tell client-side WebSocket cost from the router's.
//
// Not part of the test suite (the file name does not end in .test.ts). Finishes in < 2 min.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cbor, json, type Serializer } from '../../src/serializers/index.ts';
import { encodeHeader, FrameDecoder, FrameType, MAX_PAYLOAD } from '../../src/transport/rawsocket-framing.ts';
import { connect, type RawClient, type TransportKind } from '../helpers/raw-client.ts';
import { startRouter } from '../helpers/router-process.ts';

const SEQUENTIAL_WARMUP = 1_000;
const SEQUENTIAL_CALLS = 5_000;
const IN_FLIGHT = 1_000;
const PIPELINE_WARMUP_MS = 500;
const PIPELINE_MS = 5_000;
const PROCEDURE = 'bench.echo';
const PAYLOAD = 'the quick brown fox jumps over..'; // 32 B: a typical small RPC argument
// Request IDs from 2^28 up: always 4-octet integers in CBOR (0x1a) and 9 decimal digits in
// JSON, so the pre-encoded frame is patched in place and never changes length.
const FIRST_ID = 0x1000_0000;
const ROUNDS = 3;
// Rounds are skipped past this, so the whole run stays under 2 minutes on a slow box.
const BUDGET_MS = 95_000;
const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat times are in these ticks

// ---- the baseline relay (child process) ------------------------------------------------------

function runRelay(): void {
  // The parent holds our stdin: when it goes away, however it died, so do we.
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  let waiting: net.Socket | null = null;
  const server = net.createServer({ noDelay: true }, (socket) => {
    let handshake = Buffer.alloc(0);
    const onHandshake = (chunk: Buffer): void => {
      handshake = Buffer.concat([handshake, chunk]);
      if (handshake.length < 4) return;
      socket.off('data', onHandshake);
      // Accept whatever serializer is asked for, announcing 16 MiB, like the router does.
      socket.write(Uint8Array.of(0x7f, 0xf0 | (handshake[1]! & 0x0f), 0, 0));
      const rest = handshake.subarray(4);
      if (waiting === null) {
        waiting = socket;
        socket.pause();
        if (rest.length > 0) socket.unshift(rest);
      } else {
        const peer = waiting;
        waiting = null;
        forward(peer, socket);
        forward(socket, peer);
        if (rest.length > 0) socket.emit('data', rest);
        peer.resume();
      }
    };
    socket.on('data', onHandshake);
    socket.on('error', () => socket.destroy());
  });
  server.listen({ host: '127.0.0.1', port: 0 }, () => {
    process.stdout.write(`${JSON.stringify({ relay: (server.address() as net.AddressInfo).port })}\n`);
  });
}

/** Frames from `from` to `to`: decoded like the router does, written corked per tick. */
function forward(from: net.Socket, to: net.Socket): void {
  const decoder = new FrameDecoder(MAX_PAYLOAD);
  let corked = false;
  from.on('data', (chunk: Buffer) => {
    for (const event of decoder.feed(chunk)) {
      if (event.type !== 'message') continue;
      if (!corked) {
        corked = true;
        to.cork();
        process.nextTick(() => { corked = false; to.uncork(); });
      }
      to.write(encodeHeader(FrameType.MESSAGE, event.payload.length));
      to.write(event.payload);
    }
  });
  from.on('close', () => to.destroy());
}

// ---- measuring CPU ---------------------------------------------------------------------------

function processCpuMs(pid: number): number {
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** CPU time spent by the whole machine (all cores, /proc/stat), to see load from elsewhere. */
function machineBusyMs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
  return ((cpu.reduce((a, b) => a + b, 0) - idle) * 1000) / CLK_TCK;
}

/** Shares of one core over a window: the target, the generator, and everything else. */
interface Cpu { target: number; generator: number; other: number }

function cpuWindow(targetPid: number): { stop(): Cpu } {
  const wall0 = performance.now();
  const target0 = processCpuMs(targetPid);
  const machine0 = machineBusyMs();
  const gen0 = process.cpuUsage();
  return {
    stop() {
      const wall = performance.now() - wall0;
      const gen = process.cpuUsage(gen0);
      const target = (processCpuMs(targetPid) - target0) / wall;
      const generator = (gen.user + gen.system) / 1000 / wall;
      // Other processes plus kernel work not charged to either (loopback softirqs, mostly).
      const other = Math.max(0, (machineBusyMs() - machine0) / wall - target - generator);
      return { target, generator, other };
    },
  };
}

// ---- the load generator ----------------------------------------------------------------------

interface Target {
  readonly name: string;
  readonly pid: number;
  readonly transport: TransportKind;
  readonly serializer: Serializer;
  readonly port: number;
  readonly url: string;
  /** true: a WAMP router (join, register, INVOCATION/YIELD); false: the relay (raw CALL/RESULT). */
  readonly wamp: boolean;
}

interface Figures { p50: number; p99: number; callsPerSec: number; seqCpu: Cpu; pipeCpu: Cpu }

/** A pre-encoded CALL whose request ID is patched in place. */
class CallTemplate {
  readonly #bytes: Buffer;
  readonly #text: string | null;
  readonly #at: number;
  readonly #json: boolean;

  constructor(serializer: Serializer, textFrames: boolean) {
    this.#json = serializer.name === 'json';
    const encoded = Buffer.from(serializer.encode([48, FIRST_ID, {}, PROCEDURE, [PAYLOAD]]));
    this.#at = this.#json
      ? encoded.indexOf(String(FIRST_ID))
      : encoded.indexOf(Buffer.from([0x1a, 0x10, 0x00, 0x00, 0x00])) + 1;
    if (this.#at <= 0) throw new Error('request ID placeholder not found');
    this.#bytes = encoded;
    this.#text = textFrames ? encoded.toString('utf8') : null;
  }

  /** A new frame each time: a socket may hold on to a written buffer until it is flushed. */
  frame(id: number): Buffer | string {
    if (this.#text !== null) return this.#text.slice(0, this.#at) + id + this.#text.slice(this.#at + 9);
    const out = Buffer.allocUnsafe(this.#bytes.length);
    this.#bytes.copy(out);
    if (this.#json) out.write(String(id), this.#at, 'latin1');
    else out.writeUInt32BE(id, this.#at);
    return out;
  }
}

/** The request ID of a RESULT, read at its fixed offset; undefined for anything else. */
function resultId(payload: Uint8Array | string, serializer: Serializer): number | undefined {
  if (typeof payload === 'string') return payload.startsWith('[50,') ? Number(payload.slice(4, 13)) : undefined;
  if (serializer.name === 'json') {
    // "[50," then 9 digits.
    if (payload[1] !== 0x35 || payload[2] !== 0x30 || payload[3] !== 0x2c) return undefined;
    let id = 0;
    for (let i = 4; i < 13; i++) id = id * 10 + (payload[i]! - 0x30);
    return id;
  }
  // CBOR: array(4|5) 0x84/0x85, 0x18 0x32 (= 50), 0x1a + uint32.
  if (payload[1] !== 0x18 || payload[2] !== 0x32 || payload[3] !== 0x1a) return undefined;
  return ((payload[4]! << 24) >>> 0) + (payload[5]! << 16) + (payload[6]! << 8) + payload[7]!;
}

async function measure(target: Target): Promise<Figures> {
  const open = (): Promise<RawClient> => connect({
    transport: target.transport, serializer: target.serializer, port: target.port, url: target.url, timeoutMs: 10_000, websocketImpl: process.env.BENCH_WS === 'net' ? 'net' : 'global',
  });
  // Callee first: behind the relay, the first connection of a pair is the callee's.
  const callee = await open();
  if (target.wamp) {
    await callee.join();
    await callee.register(PROCEDURE);
  }
  const caller = await open();
  if (target.wamp) await caller.join();

  const s = target.serializer;
  const replyType = target.wamp ? 70 : 50;
  const replyTo = target.wamp ? 68 : 48;
  callee.rawMode((payload) => {
    const m = s.decode(typeof payload === 'string' ? Buffer.from(payload) : payload) as unknown[];
    if (m[0] !== replyTo) return;
    // INVOCATION [68, id, reg, {}, args] -> YIELD [70, id, {}, args];
    // CALL [48, id, {}, proc, args] -> RESULT [50, id, {}, args]. Arguments sit at index 4 in both.
    callee.send([replyType, m[1], {}, m[4]]);
  });

  const template = new CallTemplate(s, target.transport === 'websocket' && !s.binary);
  let nextId = FIRST_ID;
  let onResult: (id: number) => void = () => undefined;
  caller.rawMode((payload) => {
    const id = resultId(payload, s);
    if (id === undefined) throw new Error(`unexpected reply: ${typeof payload === 'string' ? payload : Buffer.from(payload).toString('hex')}`);
    onResult(id);
  });

  // A lost reply would stall a run forever; fail loudly instead.
  const guard = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([p, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${target.name} ${target.transport}/${s.name}: ${what} did not complete within ${ms} ms`)), ms);
    })]).finally(() => clearTimeout(timer));
  };

  // Sequential: one call at a time, each timed.
  const sequential = (n: number, samples: Float64Array | null): Promise<void> => new Promise((resolve) => {
    let done = 0;
    let sentAt = 0;
    const send = (): void => {
      sentAt = performance.now();
      caller.sendFrame(template.frame(nextId++));
    };
    onResult = () => {
      if (samples !== null) samples[done] = performance.now() - sentAt;
      if (++done === n) resolve();
      else send();
    };
    send();
  });
  await guard(sequential(SEQUENTIAL_WARMUP, null), 20_000, 'sequential warm-up');
  const samples = new Float64Array(SEQUENTIAL_CALLS);
  const seqWindow = cpuWindow(target.pid);
  await guard(sequential(SEQUENTIAL_CALLS, samples), 30_000, 'sequential calls');
  const seqCpu = seqWindow.stop();
  samples.sort();
  const pct = (p: number): number => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]! * 1000;

  // Pipelined: IN_FLIGHT calls outstanding; each result sends the next.
  const pipelined = (ms: number): Promise<number> => new Promise((resolve) => {
    let completed = 0;
    let stopping = false;
    let outstanding = 0;
    const started = performance.now();
    onResult = () => {
      outstanding--;
      completed++;
      if (!stopping && performance.now() - started >= ms) stopping = true;
      if (!stopping) {
        caller.sendFrame(template.frame(nextId++));
        outstanding++;
      } else if (outstanding === 0) {
        resolve(completed / ((performance.now() - started) / 1000));
      }
    };
    for (let i = 0; i < IN_FLIGHT; i++) caller.sendFrame(template.frame(nextId++));
    outstanding = IN_FLIGHT;
  });
  await guard(pipelined(PIPELINE_WARMUP_MS), PIPELINE_WARMUP_MS + 10_000, 'pipelined warm-up');
  const pipeWindow = cpuWindow(target.pid);
  const callsPerSec = await guard(pipelined(PIPELINE_MS), PIPELINE_MS + 10_000, 'pipelined calls');
  const pipeCpu = pipeWindow.stop();

  await caller.destroy();
  await callee.destroy();
  return { p50: pct(0.5), p99: pct(0.99), callsPerSec, seqCpu, pipeCpu };
}

// ---- main ------------------------------------------------------------------------------------

function startRelay(): Promise<{ port: number; child: ChildProcess }> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [self, '--relay'], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('relay did not start')); }, 10_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const m = /\{"relay":(\d+)\}/.exec(out);
      if (m) { clearTimeout(timer); resolve({ port: Number(m[1]), child }); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`relay exited with ${code}`)); });
  });
}

const pad = (s: string, n: number): string => s.padEnd(n);
const lpad = (s: string, n: number): string => s.padStart(n);
const pctCpu = (x: number): string => `${Math.round(x * 100)}%`;

async function main(): Promise<void> {
  const t0 = performance.now();
  const router = await startRouter();
  const relay = await startRelay();
  const relayPid = relay.child.pid!;
  try {
    const targets: Target[] = [
      { name: 'relay (no WAMP)', pid: relayPid, transport: 'rawsocket', serializer: cbor, port: relay.port, url: '', wamp: false },
      { name: 'router', pid: router.pid, transport: 'rawsocket', serializer: cbor, port: router.rawsocketPort, url: '', wamp: true },
      { name: 'relay (no WAMP)', pid: relayPid, transport: 'rawsocket', serializer: json, port: relay.port, url: '', wamp: false },
      { name: 'router', pid: router.pid, transport: 'websocket', serializer: json, port: 0, url: router.wsUrl, wamp: true },
    ];
    // Interleaved rounds, reported as medians with their spread: a shared (virtual) box is
    // rarely quiet for a minute, and interleaving spreads any disturbance over all targets.
    const runs = new Map<Target, Figures[]>();
    let rounds = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      if (round > 1 && performance.now() - t0 > BUDGET_MS * ((round - 1) / ROUNDS)) break;
      rounds = round;
      for (const target of targets) {
        process.stderr.write(`round ${round}/${ROUNDS}: ${target.name} ${target.transport}/${target.serializer.name}...\n`);
        const figures = await measure(target);
        runs.set(target, [...(runs.get(target) ?? []), figures]);
      }
    }
    const median = (xs: number[]): number => {
      const v = [...xs].sort((a, b) => a - b);
      return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
    };
    const medianCpu = (cs: Cpu[]): Cpu => ({
      target: median(cs.map((c) => c.target)), generator: median(cs.map((c) => c.generator)), other: median(cs.map((c) => c.other)),
    });
    const results = targets.map((target) => {
      const fs = runs.get(target)!;
      const figures: Figures = {
        p50: median(fs.map((f) => f.p50)), p99: median(fs.map((f) => f.p99)), callsPerSec: median(fs.map((f) => f.callsPerSec)),
        seqCpu: medianCpu(fs.map((f) => f.seqCpu)), pipeCpu: medianCpu(fs.map((f) => f.pipeCpu)),
      };
      const spread = (xs: number[], digits = 0): string => `${Math.min(...xs).toFixed(digits)}..${Math.max(...xs).toFixed(digits)}`;
      return { target, figures, spread: `p50 ${spread(fs.map((f) => f.p50))} µs, calls/s ${spread(fs.map((f) => f.callsPerSec))}` };
    });

    const label = (t: Target): string => `${t.transport === 'rawsocket' ? 'RawSocket' : 'WebSocket'}/${t.serializer.name.toUpperCase()}`;
    console.log(`\nwampmesh bench: loopback, Node ${process.version}, ${availableParallelism()} CPUs; payload ${PAYLOAD.length} B; `
      + `latency over ${SEQUENTIAL_CALLS} sequential calls, throughput with ${IN_FLIGHT} in flight for ${PIPELINE_MS / 1000} s; `
      + `median of ${rounds} interleaved round(s)`);
    console.log('CPU = share of one core during the sequential | pipelined runs: the target process, the load generator, and the rest of the');
    console.log('machine (other processes, unattributed kernel network work). A large "other" means the box was not quiet: rerun.\n');
    const header = `${pad('target', 17)}${pad('transport', 16)}${lpad('p50 µs', 8)}${lpad('p99 µs', 8)}${lpad('calls/s', 10)}   ${pad('target CPU', 12)}${pad('gen CPU', 12)}${pad('other CPU', 12)}vs relay, same serializer (p50 | p99 | calls/s)`;
    console.log(header);
    console.log('-'.repeat(header.length));
    for (const { target, figures: f } of results) {
      // The baseline for a figure is the relay with the same serializer. The relay is RawSocket
      // only, so the WebSocket/JSON ratio also contains WebSocket's own cost, on both ends.
      const base = results.find((r) => !r.target.wamp && r.target.serializer === target.serializer)!.figures;
      const ratio = target.wamp
        ? `${(f.p50 / base.p50).toFixed(2)}x | ${(f.p99 / base.p99).toFixed(2)}x | ${(f.callsPerSec / base.callsPerSec).toFixed(2)}x`
        : 'baseline';
      // Pipelined, which resource ran out: all cores (target and generator share them), or the
      // generator alone (then calls/s understates the target).
      const cores = availableParallelism();
      const saturated = (f.pipeCpu.target + f.pipeCpu.generator + f.pipeCpu.other) / cores > 0.85;
      const genBound = f.pipeCpu.generator > 0.9 && f.pipeCpu.target < 0.75;
      const note = genBound ? '  [generator-bound: calls/s is a lower bound]' : saturated ? '  [all cores busy]' : '';
      console.log(
        `${pad(target.name, 17)}${pad(label(target), 16)}${lpad(f.p50.toFixed(0), 8)}${lpad(f.p99.toFixed(0), 8)}${lpad(Math.round(f.callsPerSec).toLocaleString('en-US'), 10)}   `
        + `${pad(`${pctCpu(f.seqCpu.target)} | ${pctCpu(f.pipeCpu.target)}`, 12)}${pad(`${pctCpu(f.seqCpu.generator)} | ${pctCpu(f.pipeCpu.generator)}`, 12)}`
        + `${pad(`${pctCpu(f.seqCpu.other)} | ${pctCpu(f.pipeCpu.other)}`, 12)}${ratio}`
        + note,
      );
    }
    console.log('\nspread across rounds (min..max):');
    for (const { target, spread } of results) console.log(`  ${pad(target.name, 17)}${pad(label(target), 16)}${spread}`);
    console.log(`\n(total ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  } finally {
    relay.child.kill('SIGTERM');
    await router.stop();
  }
}

if (process.argv.includes('--relay')) runRelay();
else await main();
