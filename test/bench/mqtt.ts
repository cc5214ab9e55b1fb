// The MQTT rows of `npm run bench` (BENCH_ONLY=mqtt for these alone; also runnable as
// `scripts/node24 test/bench/mqtt.ts`): wampmesh's MQTT listener next to mosquitto (Debian
// package, C) and aedes (npm, Node) in the same run, as issue 17 asks:
//   - QoS 0 fan-out: one publisher, MQTT_SUBSCRIBERS (1,000) subscribers of one topic, held by
//     MQTT_CHILDREN generator processes (mqtt-child.ts) plus one sentinel here that paces the
//     publisher (at most WINDOW publications ahead of it, so no broker is measured on what it
//     buffers rather than delivers); deliveries/s. Each measurement follows a warm-up (JIT,
//     buffers, the broker's first bursts), rounds are interleaved over the brokers, and the
//     median is reported with the spread: single 3 s runs on a shared 2-core box varied by 2x.
//   - QoS 1 publish throughput: one publisher with QOS1_WINDOW PUBLISHes unacknowledged (below
//     wampmesh's Receive Maximum of 32), PUBACKs/s.
//   - Idle clients: MQTT_IDLE (10,000) connected clients (CONNACK received, nothing else), the
//     broker's RSS after minus before, per client, read once RSS has settled.
// The generator sends pre-encoded packets and counts packets from their fixed headers
// (mqtt-counter.ts); it is paced by what it reads, never by a polling loop, so it leaves the
// broker its core. Its ceiling: MQTT_BROKERS=relay,... adds a relay that writes the publisher's
// bytes to every subscriber (mqtt-relay-child.ts; MQTT_RELAY_MODE=packet: one write per PUBLISH,
// as mosquitto). BENCH_BASE=<another checkout's scripts/wampmesh> adds that router as
// "wampmesh (base)", for before/after in one run; MQTT_PHASES=fanout,qos1,idle picks phases.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from 'mqtt-packet';
import { rssBytes } from '../helpers/raw-client.ts';
import { cpuWindow, median, raiseFileLimit, spread, startChild, type Child, type Cpu } from './common.ts';
import { openMqtt, type MqttCounter } from './mqtt-counter.ts';

const SUBSCRIBERS = Number(process.env.MQTT_SUBSCRIBERS ?? 1000);
const FANOUT_MS = Number(process.env.MQTT_FANOUT_MS ?? 3000);
const WARMUP_MS = 1000;
const WINDOW = 200;
const QOS1_MS = 2000;
const QOS1_WINDOW = 20;
const IDLE = Number(process.env.MQTT_IDLE ?? 10_000);
const CHILDREN = 2;
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Broker {
  name: string;
  port: number;
  pid: number;
  stop(): void;
}

function firstLine(name: string, child: ChildProcess, match: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => fail('printed no start line within 60 s'), 60_000);
    const exited = (code: number | null): void => fail(`exited (${code}) before it was ready`);
    function fail(why: string): void {
      clearTimeout(timer);
      child.off('exit', exited);
      child.kill('SIGKILL');
      reject(new Error(`${name} ${why}: ${buf.slice(-2000)}`));
    }
    child.once('exit', exited);
    const on = (d: Buffer): void => {
      buf += d.toString();
      for (const line of buf.split('\n'))
        if (match(line)) {
          clearTimeout(timer);
          child.off('exit', exited);
          resolve(line);
        }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}

/** A port free right now (the OS picks it), for a broker that cannot be told to pick one. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** `bin`: this checkout's scripts/wampmesh, or BENCH_BASE's (another checkout) as "wampmesh (base)". */
async function wampmeshAt(bin: string, name: string): Promise<Broker> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-mqtt-bench-'));
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      dataDir: dir,
      realms: [{ uri: 'realm1', anonymous: true }],
      listeners: { mqtt: [{ host: '127.0.0.1', port: 0, realm: 'realm1', maxConnections: 2 * IDLE }] },
    }),
  );
  const child = spawn(bin, ['serve', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env:
      process.env.BENCH_ROUTER_NODE_OPTIONS === undefined
        ? process.env
        : {
            ...process.env,
            NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${process.env.BENCH_ROUTER_NODE_OPTIONS}`.trim(),
          },
  });
  const line = await firstLine(name, child, (l) => l.startsWith('{"event":"listening"'));
  const port = (JSON.parse(line) as { listeners: { transport: string; port: number }[] }).listeners.find(
    (l) => l.transport === 'mqtt',
  )!.port;
  return {
    name,
    port,
    pid: child.pid!,
    stop: () => {
      child.kill('SIGTERM');
      child.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    },
  };
}

async function mosquitto(): Promise<Broker> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mosquitto-bench-'));
  const port = await freePort();
  const config = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n`);
  const child = spawn('mosquitto', ['-c', config, '-v'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await firstLine('mosquitto', child, (l) => l.includes(' running'));
  child.stdout?.resume();
  child.stderr?.resume();
  // -v logs every connection: read it away so the pipe never blocks the broker.
  child.stdout?.removeAllListeners('data');
  child.stderr?.removeAllListeners('data');
  return {
    name: 'mosquitto',
    port,
    pid: child.pid!,
    stop: () => {
      child.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Node child process that prints {"port": N} once listening. */
async function nodeBroker(name: string, file: string): Promise<Broker> {
  const child = spawn(process.execPath, [path.join(here, file)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await firstLine(name, child, (l) => l.startsWith('{"port"'));
  return {
    name,
    port: (JSON.parse(line) as { port: number }).port,
    pid: child.pid!,
    stop: () => child.kill('SIGTERM'),
  };
}

const aedes = (): Promise<Broker> => nodeBroker('aedes', 'mqtt-aedes-child.ts');
const relay = (): Promise<Broker> => nodeBroker('relay', 'mqtt-relay-child.ts');

const PUBLISH_Q0 = generate({
  cmd: 'publish',
  topic: 'bench/t',
  payload: Buffer.from('{"v":21.5}'),
  qos: 0,
  dup: false,
  retain: false,
});

interface Fanout {
  broker: Broker;
  children: Child[];
  sentinel: MqttCounter;
  publisher: MqttCounter;
}

async function prepareFanout(broker: Broker, children: Child[]): Promise<Fanout> {
  const share = Math.floor((SUBSCRIBERS - 1) / children.length);
  await Promise.all(
    children.map((c, i) =>
      c.request(
        {
          cmd: 'subscribe',
          port: broker.port,
          topic: 'bench/t',
          count: i === children.length - 1 ? SUBSCRIBERS - 1 - share * i : share,
        },
        120_000,
      ),
    ),
  );
  const sentinel = await openMqtt(broker.port, `sentinel-${Date.now()}`, 'bench/t');
  await sentinel.ready(10_000);
  const publisher = await openMqtt(broker.port, `publisher-${Date.now()}`);
  await publisher.ready(10_000);
  return { broker, children, sentinel, publisher };
}

async function total(children: Child[], sentinel: MqttCounter): Promise<number> {
  const counts = await Promise.all(children.map((c) => c.request<{ total: number }>({ cmd: 'count' })));
  return counts.reduce((n, c) => n + c.total, sentinel.count);
}

/** WINDOW publications back to back, so a top-up is one write of a prefix of this. */
const PUBLISH_Q0_RUN = Buffer.concat(Array.from({ length: WINDOW }, () => PUBLISH_Q0));

/**
 * Publishes for `ms`, at most WINDOW ahead of the sentinel; returns nothing (the caller counts).
 * Driven by the sentinel's reads, not by a loop: a generator spinning on setImmediate would take
 * a core of the two from the broker it measures.
 */
async function publishFor(f: Fanout, ms: number): Promise<void> {
  let sent = 0;
  let open = true;
  const base = f.sentinel.count;
  const topUp = (): void => {
    const missing = WINDOW - (sent - (f.sentinel.count - base));
    if (!open || missing <= 0) return;
    f.publisher.socket.write(PUBLISH_Q0_RUN.subarray(0, missing * PUBLISH_Q0.length));
    sent += missing;
  };
  f.sentinel.onRead = topUp;
  topUp();
  await sleep(ms);
  open = false;
  f.sentinel.onRead = undefined;
  // Let what is in flight land before the next count.
  const deadline = Date.now() + 2000;
  while (f.sentinel.count - base < sent && Date.now() < deadline) await sleep(5);
}

export interface MqttFigures {
  fanout: number[];
  fanoutCpu: Cpu[];
  qos1: number[];
  idleBytes?: number;
  idleClients?: number;
}

async function measureFanout(f: Fanout, generatorPids: number[]): Promise<{ rate: number; cpu: Cpu }> {
  await publishFor(f, WARMUP_MS);
  const before = await total(f.children, f.sentinel);
  const cpu = cpuWindow([f.broker.pid], generatorPids);
  const t0 = performance.now();
  await publishFor(f, FANOUT_MS);
  const elapsed = performance.now() - t0;
  const c = cpu.stop();
  const after = await total(f.children, f.sentinel);
  return { rate: ((after - before) / elapsed) * 1000, cpu: c };
}

async function measureQos1(broker: Broker): Promise<number> {
  const pub = await openMqtt(broker.port, `q1-${Date.now()}`);
  await pub.ready(30_000);
  let id = 0;
  const packet = (): Buffer =>
    generate({
      cmd: 'publish',
      topic: 'bench/q1',
      payload: Buffer.from('{"v":21.5}'),
      qos: 1,
      messageId: (id = (id % 60_000) + 1),
      dup: false,
      retain: false,
    });
  // Paced by the PUBACKs as they are read, as publishFor is by the sentinel.
  const run = async (ms: number): Promise<number> => {
    const base = pub.acks;
    let sent = 0;
    let open = true;
    const topUp = (): void => {
      const missing = QOS1_WINDOW - (sent - (pub.acks - base));
      if (!open || missing <= 0) return;
      pub.socket.write(Buffer.concat(Array.from({ length: missing }, packet)));
      sent += missing;
    };
    pub.onRead = topUp;
    const t0 = performance.now();
    topUp();
    await sleep(ms);
    const elapsed = performance.now() - t0;
    const acked = pub.acks - base;
    open = false;
    pub.onRead = undefined;
    const deadline = Date.now() + 2000;
    while (pub.acks - base < sent && Date.now() < deadline) await sleep(5);
    return (acked / elapsed) * 1000;
  };
  await run(WARMUP_MS / 2);
  const rate = await run(QOS1_MS);
  pub.socket.destroy();
  return rate;
}

/** RSS once it has stopped moving (GC, the allocator handing pages back), bounded in time. */
async function settledRss(pid: number): Promise<number> {
  let last = rssBytes(pid);
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    const now = rssBytes(pid);
    if (Math.abs(now - last) < 256 * 1024) return now;
    last = now;
  }
  return last;
}

async function measureIdle(broker: Broker, children: Child[]): Promise<{ perClient: number; clients: number }> {
  const before = await settledRss(broker.pid);
  const share = Math.ceil(IDLE / children.length);
  const opened = await Promise.all(
    children.map((c) => c.request<{ opened: number }>({ cmd: 'idle', port: broker.port, count: share }, 300_000)),
  );
  const clients = opened.reduce((n, o) => n + o.opened, 0);
  const after = await settledRss(broker.pid);
  await Promise.all(children.map((c) => c.request({ cmd: 'close' })));
  return { perClient: (after - before) / clients, clients };
}

const wampmesh = (): Promise<Broker> => wampmeshAt(path.join(repo, 'scripts/wampmesh'), 'wampmesh');
const base = (): Promise<Broker> => wampmeshAt(path.resolve(process.env.BENCH_BASE!), 'wampmesh (base)');
const ALL_MAKERS = { wampmesh, base, mosquitto, aedes, relay } as const;
// The generator's ceiling (`relay`) only when asked for: MQTT_BROKERS=relay,wampmesh,...; with
// BENCH_BASE, the router of another checkout too (before/after in one run).
const defaultBrokers = `wampmesh,${process.env.BENCH_BASE === undefined ? '' : 'base,'}mosquitto,aedes`;
const MAKERS = (process.env.MQTT_BROKERS ?? defaultBrokers).split(',').map((name) => {
  const make = ALL_MAKERS[name.trim() as keyof typeof ALL_MAKERS];
  if (make === undefined) throw new Error(`MQTT_BROKERS: no broker ${name}`);
  return make;
});
// MQTT_PHASES=fanout,qos1,idle (a subset, to iterate on one).
const PHASES = new Set((process.env.MQTT_PHASES ?? 'fanout,qos1,idle').split(',').map((s) => s.trim()));

/** Runs the MQTT scenarios; returns the report lines. */
export async function runMqttBench(rounds: number): Promise<string[]> {
  const figures = new Map<string, MqttFigures>();
  const children = await Promise.all(
    Array.from({ length: CHILDREN }, () => startChild(path.join(here, 'mqtt-child.ts'))),
  );
  const generatorPids = children.map((c) => c.pid);
  const brokers: Broker[] = [];
  try {
    for (const make of MAKERS) brokers.push(await make());
    for (const b of brokers) figures.set(b.name, { fanout: [], fanoutCpu: [], qos1: [] });
    const fanouts: Fanout[] = [];
    for (const b of PHASES.has('fanout') ? brokers : []) {
      process.stderr.write(`mqtt: ${SUBSCRIBERS} subscribers to ${b.name}...\n`);
      fanouts.push(await prepareFanout(b, children));
    }
    // Interleaved rounds: load from elsewhere on the box spreads over all brokers.
    for (let round = 1; round <= rounds; round++) {
      for (const f of fanouts) {
        process.stderr.write(`mqtt round ${round}/${rounds}: ${f.broker.name}...\n`);
        const fig = figures.get(f.broker.name)!;
        const { rate, cpu } = await measureFanout(f, generatorPids);
        fig.fanout.push(rate);
        fig.fanoutCpu.push(cpu);
      }
    }
    for (const f of fanouts) {
      f.sentinel.socket.destroy();
      f.publisher.socket.destroy();
    }
    await Promise.all(children.map((c) => c.request({ cmd: 'close' })));
    // QoS 1 without subscribers: a broker still working off a fan-out backlog is not measured.
    await sleep(1000);
    for (let round = 1; round <= (PHASES.has('qos1') ? rounds : 0); round++) {
      for (const b of brokers) {
        process.stderr.write(`mqtt QoS 1 round ${round}/${rounds}: ${b.name}...\n`);
        figures.get(b.name)!.qos1.push(await measureQos1(b));
      }
    }
    for (const b of brokers) b.stop();
    brokers.length = 0;
    // Idle clients: each broker fresh, alone on the box.
    for (const make of PHASES.has('idle') ? MAKERS : []) {
      const b = await make();
      brokers.push(b);
      process.stderr.write(`mqtt: ${IDLE} idle clients to ${b.name}...\n`);
      const idle = await measureIdle(b, children);
      const fig = figures.get(b.name)!;
      fig.idleBytes = idle.perClient;
      fig.idleClients = idle.clients;
      b.stop();
      brokers.length = 0;
    }
  } finally {
    for (const b of brokers) b.stop();
    for (const c of children) c.stop();
  }
  return report(figures, rounds);
}

function report(figures: Map<string, MqttFigures>, rounds: number): string[] {
  const int = (x: number): string => Math.round(x).toLocaleString('en-US');
  const out: string[] = [
    '',
    `MQTT (issue 17), median of ${rounds} interleaved round(s), each after a ${WARMUP_MS / 1000} s warm-up: QoS 0 fan-out 1 publisher -> ` +
      `${int(SUBSCRIBERS)} subscribers for ${FANOUT_MS / 1000} s (deliveries/s); QoS 1 publish with ${QOS1_WINDOW} in flight ` +
      `for ${QOS1_MS / 1000} s (PUBACKs/s); ${int(IDLE)} idle clients (broker RSS per client, after it settled).`,
    `${'broker'.padEnd(16)}${'fan-out/s'.padStart(12)}${'QoS 1/s'.padStart(10)}${'idle B/client'.padStart(15)}  broker CPU  generator CPU  other CPU  spread (fan-out | QoS 1)`,
  ];
  for (const [name, f] of figures) {
    const cpu = median(f.fanoutCpu.map((c) => c.target));
    const gen = median(f.fanoutCpu.map((c) => c.generator));
    const other = median(f.fanoutCpu.map((c) => c.other));
    out.push(
      `${name.padEnd(16)}${int(median(f.fanout)).padStart(12)}${int(median(f.qos1)).padStart(10)}` +
        `${(f.idleBytes === undefined ? '-' : int(f.idleBytes)).padStart(15)}  ${`${Math.round(cpu * 100)}%`.padEnd(10)}  ${`${Math.round(gen * 100)}%`.padEnd(13)}  ${`${Math.round(other * 100)}%`.padEnd(9)}  ` +
        `${spread(f.fanout)} | ${spread(f.qos1)}`,
    );
  }
  const w = figures.get('wampmesh');
  const m = figures.get('mosquitto');
  const a = figures.get('aedes');
  if (w && m && a) {
    const fan = median(w.fanout);
    const check = (ok: boolean, text: string): string => `  [${ok ? 'met' : 'MISSED'}] ${text}`;
    out.push(
      'targets (issue 17):',
      check(
        fan >= 3 * median(a.fanout),
        `fan-out >= 3x aedes: ${(fan / median(a.fanout)).toFixed(2)}x (${int(fan)} vs ${int(median(a.fanout))}/s)`,
      ),
      check(
        fan >= 0.8 * median(m.fanout),
        `fan-out >= 0.8x mosquitto: ${(fan / median(m.fanout)).toFixed(2)}x (${int(fan)} vs ${int(median(m.fanout))}/s)`,
      ),
      check(
        (w.idleBytes ?? Infinity) < 10 * 1024,
        `idle client < 10 KB: ${((w.idleBytes ?? Number.NaN) / 1024).toFixed(1)} KB (${int(w.idleClients ?? 0)} clients)`,
      ),
    );
    const b = figures.get('wampmesh (base)');
    if (b)
      out.push(
        `  base (BENCH_BASE): fan-out ${(median(b.fanout) / median(a.fanout)).toFixed(2)}x aedes, ` +
          `${(median(b.fanout) / median(m.fanout)).toFixed(2)}x mosquitto; idle ${((b.idleBytes ?? Number.NaN) / 1024).toFixed(1)} KB`,
      );
  }
  return out;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  raiseFileLimit(65_536);
  console.log((await runMqttBench(Number(process.env.BENCH_ROUNDS ?? 3))).join('\n'));
  process.exit(0);
}
