// What the MQTT bench measures on one broker: QoS 0 fan-out paced by a sentinel subscriber, QoS 1
// publish throughput paced by the PUBACKs, and the RSS that idle clients cost.

import { generate } from 'mqtt-packet';
import { rssBytes } from '../helpers/raw-client.ts';
import { cpuWindow, type Child, type Cpu } from './common.ts';
import type { Broker } from './mqtt-brokers.ts';
import { openMqtt, type MqttCounter } from './mqtt-counter.ts';
import { FANOUT_MS, IDLE, QOS1_MS, QOS1_WINDOW, SUBSCRIBERS, WARMUP_MS, WINDOW } from './mqtt-settings.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const PUBLISH_Q0 = generate({
  cmd: 'publish',
  topic: 'bench/t',
  payload: Buffer.from('{"v":21.5}'),
  qos: 0,
  dup: false,
  retain: false,
});

export interface Fanout {
  broker: Broker;
  children: Child[];
  sentinel: MqttCounter;
  publisher: MqttCounter;
}

export async function prepareFanout(broker: Broker, children: Child[]): Promise<Fanout> {
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

export async function measureFanout(f: Fanout, generatorPids: number[]): Promise<{ rate: number; cpu: Cpu }> {
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

export async function measureQos1(broker: Broker): Promise<number> {
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

export async function measureIdle(broker: Broker, children: Child[]): Promise<{ perClient: number; clients: number }> {
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
