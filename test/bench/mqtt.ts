// MQTT benchmark (`scripts/node24 test/bench/mqtt.ts`; MQTT_BENCH_IDLE=N measures resident
// memory per idle client instead). Fan-out: QoS 0 events delivered per
// second from one publisher to SUBSCRIBERS subscribers of one topic, against wampmesh's MQTT
// listener, mosquitto (Debian package, C) and aedes (npm, Node), in the same run, interleaved
// over ROUNDS rounds; medians printed. Not part of `npm run bench` yet.
//
// The generator is this process: raw sockets, pre-encoded packets, PUBLISH packets counted from
// their fixed headers without decoding. The publisher keeps at most WINDOW publications ahead
// of a sentinel subscriber, so no broker is measured on what it buffers rather than delivers.
// Needs: Debian mosquitto (the broker binary), npm aedes (dev dependency).

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from 'mqtt-packet';

const SUBSCRIBERS = Number(process.env.MQTT_BENCH_SUBSCRIBERS ?? 200);
const DURATION_MS = Number(process.env.MQTT_BENCH_MS ?? 3000);
const ROUNDS = Number(process.env.MQTT_BENCH_ROUNDS ?? 3);
const WINDOW = Number(process.env.MQTT_BENCH_WINDOW ?? 200);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');

interface Target {
  name: string;
  port: number;
  pid: number;
  stop(): void;
}

function firstLine(child: ChildProcess, match: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('no start line')), 20_000);
    const on = (d: Buffer): void => {
      buf += d.toString();
      for (const line of buf.split('\n'))
        if (match(line)) {
          clearTimeout(timer);
          resolve(line);
        }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}

async function wampmesh(): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-mqtt-bench-'));
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      dataDir: dir,
      realms: [{ uri: 'realm1', anonymous: true }],
      listeners: { mqtt: [{ host: '127.0.0.1', port: 0 }] },
    }),
  );
  const child = spawn(path.join(repo, 'scripts/wampmesh'), ['serve', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = await firstLine(child, (l) => l.startsWith('{"event":"listening"'));
  const port = (JSON.parse(line) as { listeners: { transport: string; port: number }[] }).listeners.find(
    (l) => l.transport === 'mqtt',
  )!.port;
  return {
    name: 'wampmesh',
    port,
    pid: child.pid!,
    stop: () => {
      child.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function mosquitto(): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mosquitto-bench-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const config = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n`);
  const child = spawn('mosquitto', ['-c', config, '-v'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await firstLine(child, (l) => l.includes(' running'));
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

async function aedes(): Promise<Target> {
  const child = spawn(process.execPath, [path.join(here, 'mqtt-aedes-child.ts')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = await firstLine(child, (l) => l.startsWith('{"port"'));
  return {
    name: 'aedes',
    port: (JSON.parse(line) as { port: number }).port,
    pid: child.pid!,
    stop: () => child.kill('SIGTERM'),
  };
}

/** A connection that counts PUBLISH packets by walking fixed headers. */
class Counter {
  count = 0;
  readonly socket: net.Socket;
  #rest: Buffer = Buffer.alloc(0);
  #acked = false;
  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.#data(d));
    socket.on('error', () => {});
  }
  #data(d: Buffer): void {
    let b = this.#rest.length > 0 ? Buffer.concat([this.#rest, d]) : d;
    let at = 0;
    for (;;) {
      if (b.length - at < 2) break;
      let len = 0;
      let mul = 1;
      let i = at + 1;
      for (; i < b.length; i++) {
        len += (b[i]! & 0x7f) * mul;
        mul *= 128;
        if ((b[i]! & 0x80) === 0) break;
      }
      if (i >= b.length || b.length < i + 1 + len) break;
      const type = b[at]! >> 4;
      if (type === 3) this.count++;
      else if (type === 9) this.#acked = true;
      at = i + 1 + len;
    }
    b = b.subarray(at);
    this.#rest = Buffer.from(b);
  }
  get subscribed(): boolean {
    return this.#acked;
  }
}

async function open(port: number, id: string, subscribe: boolean): Promise<Counter> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  const c = new Counter(socket);
  socket.write(
    generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: id, keepalive: 0 }),
  );
  if (subscribe)
    socket.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'bench/t', qos: 0 }] }));
  return c;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function fanout(t: Target): Promise<number> {
  const subs: Counter[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) subs.push(await open(t.port, `s${i}-${Date.now()}`, true));
  const deadline = Date.now() + 10_000;
  while (!subs.every((s) => s.subscribed)) {
    if (Date.now() > deadline) throw new Error(`${t.name}: not all subscribed`);
    await sleep(10);
  }
  const pub = await open(t.port, `p-${Date.now()}`, false);
  await sleep(100);
  const packet = generate({
    cmd: 'publish',
    topic: 'bench/t',
    payload: Buffer.from('{"v":21.5}'),
    qos: 0,
    dup: false,
    retain: false,
  });
  const sentinel = subs[0]!;
  const base = subs.reduce((n, s) => n + s.count, 0);
  const started = Date.now();
  let sent = 0;
  const sentinelBase = sentinel.count;
  while (Date.now() - started < DURATION_MS) {
    while (sent - (sentinel.count - sentinelBase) < WINDOW) {
      pub.socket.write(packet);
      sent++;
    }
    await new Promise((r) => setImmediate(r));
  }
  const elapsed = Date.now() - started;
  const delivered = subs.reduce((n, s) => n + s.count, 0) - base;
  for (const s of [...subs, pub]) s.socket.destroy();
  await sleep(300);
  return (delivered / elapsed) * 1000;
}

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** Resident memory per idle connected client (CONNECT answered, nothing else), in bytes. */
async function idle(t: Target, n: number): Promise<number> {
  await sleep(300);
  const before = rss(t.pid);
  const clients: Counter[] = [];
  for (let i = 0; i < n; i++) clients.push(await open(t.port, `idle${i}`, false));
  await sleep(1000);
  const after = rss(t.pid);
  for (const c of clients) c.socket.destroy();
  return (after - before) / n;
}

const makers = [wampmesh, mosquitto, aedes];
if (process.env.MQTT_BENCH_IDLE !== undefined) {
  const n = Number(process.env.MQTT_BENCH_IDLE);
  for (const make of makers) {
    const t = await make();
    try {
      process.stdout.write(
        `${t.name.padEnd(10)} ${Math.round(await idle(t, n))
          .toLocaleString('en')
          .padStart(8)} bytes RSS per idle client (${n} clients)\n`,
      );
    } finally {
      t.stop();
    }
  }
  process.exit(0);
}
const results = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const make of makers) {
    const t = await make();
    try {
      const rate = await fanout(t);
      results.set(t.name, [...(results.get(t.name) ?? []), rate]);
    } finally {
      t.stop();
    }
    await sleep(300);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stdout.write(
  `QoS 0 fan-out, 1 publisher -> ${SUBSCRIBERS} subscribers, ${DURATION_MS} ms x ${ROUNDS} rounds (median; all rounds)\n`,
);
for (const [name, rates] of results) {
  process.stdout.write(
    `${name.padEnd(10)} ${Math.round(median(rates)).toLocaleString('en').padStart(10)} deliveries/s   (${rates.map((r) => Math.round(r)).join(', ')})\n`,
  );
}
