// The PubSub fan-out load of the benchmark: one publisher, SUBSCRIBERS subscribers of one
// topic. All but one subscriber live in generator child processes (fanout-child.ts); the last
// one to subscribe, the "sentinel", lives here next to the publisher. A router delivers to the
// subscribers of a topic in subscription order, so when the sentinel has an event, the router
// has handed that publication to every other subscriber too.
//
// Every PUBLISH carries [PAYLOAD, t] with t the publisher's clock (ms, CLOCK_MONOTONIC, shared
// by all processes); subscribers take (their clock - t) as the delivery latency. Pre-encoded:
// CBOR frames are patched in place (request ID, float64 timestamp); JSON frames are one string
// concatenation.
//
// Two phases per target:
//   - paced: one publication at a time (the next goes out when the sentinel has the previous
//     one), PACED_PUBLICATIONS times: latency p50/p99 over every delivery to the child
//     processes' subscribers, without queueing behind other publications;
//   - saturated: up to WINDOW publications ahead of the sentinel, refilled in bursts once half
//     of them have come back (and never more than LAG_LIMIT ahead of the slowest subscriber,
//     so nothing is dropped for slowness), for FANOUT_MS after a warm-up: events delivered per
//     second to all subscribers, and the p99 under that load.

import { cbor, json, type Serializer } from '../../src/serializers/index.ts';
import { connect, type RawClient } from '../helpers/raw-client.ts';
import {
  cpuWindow,
  FIRST_ID,
  Histogram,
  monoMs,
  PAYLOAD,
  processCpuSplitMs,
  processSyscalls,
  type BenchTarget,
  type Child,
  type Cpu,
} from './common.ts';

export const SUBSCRIBERS = 1_000;
export const PACED_PUBLICATIONS = 200;
export const WINDOW = 32;
export const LAG_LIMIT = 128;
export const FANOUT_WARMUP_MS = 500;
export const FANOUT_MS = 3_000;
/**
 * With publisherPort, the publisher joins another router than the subscribers (a mesh: events
 * cross the links) and publishes probes first until one arrives (the subscriptions must reach
 * its router); subscribers: fewer than SUBSCRIBERS, so the links rather than the fan-out bound
 * the rate.
 */
export type FanoutTarget = BenchTarget & {
  readonly publisherPort?: number;
  readonly subscribers?: number;
  /** Publications of the paced phase (default PACED_PUBLICATIONS): each is a write per subscriber. */
  readonly paced?: number;
  /** Publications in flight when saturated (default WINDOW, at most LAG_LIMIT). */
  readonly window?: number;
};

export interface FanoutFigures {
  /** Paced: one publication at a time. */
  p50: number;
  p99: number;
  /** Saturated. */
  eventsPerSec: number;
  loadedP99: number;
  cpu: Cpu;
  /** Events the subscribers did not get (dropped by the target), over the whole run. */
  lost: number;
  /** The target's read- and write-type syscalls per second, saturated (how well it batches). */
  syscallsPerSec: { reads: number; writes: number };
  /** The target's kernel time (stime) as a share of one core, saturated: part of cpu.target. */
  targetSystem: number;
  /** The saturated window on the machine's monotonic clock (ms), to cut a profile to it. */
  window: { from: number; to: number };
}

/** PUBLISH [16, id, {}, topic, [PAYLOAD, t]], pre-encoded. */
class PublishTemplate {
  readonly #bytes: Buffer | null = null;
  readonly #idAt: number = 0;
  readonly #topic: string;

  constructor(serializer: Serializer, topic: string) {
    this.#topic = topic;
    if (serializer === cbor) {
      // 0.1 is not exact as a float32, so the encoder writes a float64 (0xfb): the frame's last 8 octets.
      const bytes = Buffer.from(cbor.encode([16, FIRST_ID, {}, topic, [PAYLOAD, 0.1]]));
      if (bytes[bytes.length - 9] !== 0xfb) throw new Error('timestamp placeholder not found');
      this.#idAt = bytes.indexOf(Buffer.from([0x1a, 0x10, 0x00, 0x00, 0x00])) + 1;
      this.#bytes = bytes;
    } else if (serializer !== json) {
      throw new Error(`fan-out runs CBOR or JSON, not ${serializer.name}`);
    }
  }

  frame(id: number, t: number): Buffer | string {
    if (this.#bytes === null) return `[16,${id},{},${JSON.stringify(this.#topic)},["${PAYLOAD}",${t}]]`;
    const out = Buffer.allocUnsafe(this.#bytes.length);
    this.#bytes.copy(out);
    out.writeUInt32BE(id, this.#idAt);
    out.writeDoubleBE(t, out.length - 8);
    return out;
  }
}

let topics = 0;

export async function measureFanout(target: FanoutTarget, children: readonly Child[]): Promise<FanoutFigures> {
  const s = target.serializer;
  const topic = `bench.fanout.${++topics}`;
  const subscribers = target.subscribers ?? SUBSCRIBERS;
  const open = async (port = target.port): Promise<RawClient> => {
    const c = await connect({
      transport: target.transport,
      serializer: s,
      port,
      url: target.url,
      websocketImpl: 'net',
      timeoutMs: 20_000,
    });
    await c.join('realm1', {}, 20_000);
    return c;
  };
  // SUBSCRIBERS - 1 in the children, spread evenly; the sentinel here.
  const inChildren = subscribers - 1;
  const shares = children.map(
    (_, i) => Math.floor(inChildren / children.length) + (i < inChildren % children.length ? 1 : 0),
  );
  const childMin = children.map(() => 0);
  let pump = (): void => undefined;
  children.forEach((child, i) =>
    child.onPush((m) => {
      const progress = m.progress as { min: number } | undefined;
      if (progress !== undefined) {
        childMin[i] = progress.min;
        pump();
      }
    }),
  );
  await Promise.all(
    children.map((child, i) =>
      child.request(
        {
          cmd: 'connect',
          transport: target.transport,
          serializer: s.name,
          port: target.port,
          url: target.url,
          realm: 'realm1',
          topic,
          count: shares[i],
        },
        120_000,
      ),
    ),
  );
  const sentinel = await open();
  await sentinel.subscribe(topic, 20_000);
  const publisher = await open(target.publisherPort);
  if (target.publisherPort !== undefined) {
    // Subscribed last, so when a probe arrives the publisher's router knows every subscription.
    const probe = `${topic}.probe`;
    await sentinel.subscribe(probe, 20_000);
    const deadline = performance.now() + 20_000;
    for (let arrived = false; !arrived; ) {
      if (performance.now() > deadline) throw new Error(`${target.name}: no probe event within 20 s`);
      publisher.send([16, publisher.requestId(), {}, probe, []]);
      arrived = await sentinel
        .next((m) => m[0] === 36, 200)
        .then(
          () => true,
          () => false,
        );
    }
  }

  const template = new PublishTemplate(s, topic);
  let nextId = FIRST_ID;
  let published = 0;
  let seen = 0; // events at the sentinel
  let window = 1;
  let stopped = true;
  let onSentinel: () => void = () => undefined;
  sentinel.rawMode(() => {
    seen++;
    onSentinel();
    pump();
  });
  const publish = (): void => {
    publisher.sendFrame(template.frame(nextId++, monoMs()));
    published++;
  };
  pump = () => {
    if (stopped) return;
    let slowest = seen;
    for (const m of childMin) if (m < slowest) slowest = m;
    // Refilled in bursts, once half the window has come back: a pipelining publisher's
    // PUBLISHes arrive together, as they would from a busy one.
    if (published - seen > window / 2 || published - slowest >= LAG_LIMIT) return;
    while (published - seen < window && published - slowest < LAG_LIMIT) publish();
  };
  const settle = async (what: string): Promise<void> => {
    // Everything published has reached every subscriber (or was dropped: then give up waiting).
    const deadline = performance.now() + 10_000;
    while (seen < published || childMin.some((m) => m < published)) {
      if (performance.now() > deadline)
        throw new Error(
          `${target.name}: ${what}: subscribers stuck at ${Math.min(seen, ...childMin)} of ${published} publications`,
        );
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const guard = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `${target.name} fan-out: ${what} did not complete within ${ms} ms (sentinel ${seen}/${published})`,
              ),
            ),
          ms,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  };
  const measuring = async (on: boolean): Promise<{ events: number; histogram: Histogram }> => {
    const replies = await Promise.all(
      children.map((c) => c.request<{ events?: number; histogram?: number[] }>({ cmd: 'measure', on })),
    );
    const histogram = new Histogram();
    let events = 0;
    for (const r of replies) {
      events += r.events ?? 0;
      if (r.histogram !== undefined) histogram.add(new Histogram(r.histogram));
    }
    return { events, histogram };
  };

  try {
    // Paced.
    await measuring(true);
    window = 1;
    stopped = false;
    await guard(
      new Promise<void>((resolve) => {
        onSentinel = () => {
          if (seen >= (target.paced ?? PACED_PUBLICATIONS)) {
            stopped = true;
            resolve();
          }
        };
        pump();
      }),
      30_000,
      'paced publications',
    );
    onSentinel = () => undefined;
    await settle('paced');
    const paced = await measuring(false);

    // Saturated.
    window = Math.min(target.window ?? WINDOW, LAG_LIMIT);
    stopped = false;
    pump();
    await new Promise((r) => setTimeout(r, FANOUT_WARMUP_MS));
    await measuring(true);
    const sentinel0 = seen;
    const cpu = cpuWindow(
      target.pids,
      children.map((c) => c.pid),
    );
    const syscalls = (): { reads: number; writes: number } =>
      target.pids.map(processSyscalls).reduce((a, b) => ({ reads: a.reads + b.reads, writes: a.writes + b.writes }));
    const system = (): number => target.pids.reduce((a, pid) => a + processCpuSplitMs(pid).system, 0);
    const syscalls0 = syscalls();
    const system0 = system();
    const from = monoMs();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, FANOUT_MS));
    const loaded = await measuring(false);
    const elapsed = (performance.now() - t0) / 1000;
    const syscalls1 = syscalls();
    const system1 = system();
    const cpuShares = cpu.stop();
    const to = monoMs();
    const sentinelEvents = seen - sentinel0;
    stopped = true;
    await settle('saturated');
    const totals = await Promise.all(children.map((c) => c.request<{ total: number }>({ cmd: 'close' })));
    const delivered = totals.reduce((a, t) => a + t.total, 0) + seen;
    return {
      p50: paced.histogram.percentile(0.5),
      p99: paced.histogram.percentile(0.99),
      eventsPerSec: (loaded.events + sentinelEvents) / elapsed,
      loadedP99: loaded.histogram.percentile(0.99),
      cpu: cpuShares,
      lost: published * subscribers - delivered,
      syscallsPerSec: {
        reads: (syscalls1.reads - syscalls0.reads) / elapsed,
        writes: (syscalls1.writes - syscalls0.writes) / elapsed,
      },
      targetSystem: (system1 - system0) / (elapsed * 1000),
      window: { from, to },
    };
  } finally {
    stopped = true;
    pump = () => undefined;
    for (const c of children) c.onPush(undefined);
    await Promise.all(children.map((c) => c.request({ cmd: 'close' }).catch(() => undefined)));
    await sentinel.destroy();
    await publisher.destroy();
  }
}
