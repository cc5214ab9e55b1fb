// Bridge benchmark (`BENCH_ONLY=bridge npm run bench`): events through the durable outbox of an
// MQTT bridge to a local Debian mosquitto, the router's database at synchronous=FULL (its
// default: every group commit is fsynced).
//   - sustained: one publisher keeps WINDOW acknowledged publications in flight (PUBLISHED means
//     "committed to the outbox") for SUSTAIN_MS; the rate is what a QoS 0 subscriber of
//     mosquitto receives per second after a warm-up, so every event crossed the outbox, the
//     bridge's QoS 1 link (PUBACK, then its row deleted) and the broker;
//   - drain: with mosquitto stopped, DRAIN_EVENTS acknowledged publications queue on disk; then
//     mosquitto starts, and the rate is DRAIN_EVENTS over the time from its start until the
//     subscriber has them all (the bridge's reconnection delay included).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { cbor } from '../../src/serializers/index.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { startRouter } from '../helpers/router-process.ts';
import { Mosquitto } from '../bridge/mosquitto.ts';
import { cpuWindow, type Cpu } from './common.ts';

export const BRIDGE_SUSTAIN_MS = 5_000;
export const BRIDGE_WINDOW = 1_000;
export const BRIDGE_INFLIGHT = 500;
export const DRAIN_EVENTS = 50_000;
const WARMUP_MS = 1_000;

export interface BridgeFigures {
  sustainedPerSec: number;
  sustainedCpu: Cpu;
  ackedPerSec: number;
  drainPerSec: number;
  drainCpu: Cpu;
  brokerPid: number;
}

/** Publishes with acknowledge, keeping `window` in flight, until `stop()` says so; resolves with the count acknowledged. */
async function publisher(c: RawClient, window: number, stop: () => boolean, limit = Infinity): Promise<number> {
  let sent = 0;
  let acked = 0;
  let wake: (() => void) | undefined;
  c.rawMode((frame) => {
    const m = cbor.decode(frame as Uint8Array) as unknown[];
    if (m[0] === 17) acked++;
    else if (m[0] === 8) throw new Error(`publication refused: ${JSON.stringify(m)}`);
    wake?.();
  });
  while (!stop() && sent < limit) {
    while (sent - acked < window && sent < limit) {
      sent++;
      c.send([16, sent, { acknowledge: true }, 'bench.tele.sensor', [sent, 'the quick brown fox']]);
    }
    await new Promise<void>((r) => {
      wake = r;
    });
  }
  while (acked < sent) await new Promise<void>((r) => (wake = r));
  return acked;
}

export async function measureBridge(): Promise<BridgeFigures> {
  const broker = await Mosquitto.start();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-bridge-bench-'));
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      realms: [{ uri: 'realm1', anonymous: true }],
      bridges: [
        {
          name: 'bench',
          type: 'mqtt',
          url: broker.url,
          realm: 'realm1',
          retry: { initialMs: 50, maxMs: 200 },
          queue: { inflight: BRIDGE_INFLIGHT, maxMessages: 1_000_000 },
          rules: [{ direction: 'out', wamp: 'bench.', match: 'prefix', mqtt: 'bench/', qos: 1 }],
        },
      ],
    }),
  );
  const router = await startRouter({
    args: ['--config', config, '--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0'],
    dataDir: path.join(dir, 'data'),
  });
  let received = 0;
  const sub = mqtt.connect(broker.url, { clientId: 'bench-sub', clean: false, reconnectPeriod: 100 });
  sub.on('error', () => {});
  sub.on('message', () => {
    received++;
  });
  try {
    await new Promise((r) => sub.once('connect', r));
    // QoS 1 so that mosquitto keeps what arrives while the subscriber reconnects (drain).
    await sub.subscribeAsync('bench/#', { qos: 1 });
    const pub = await RawClient.connect({ transport: 'rawsocket', port: router.rawsocketPort, serializer: 'cbor' });
    await pub.join('realm1');

    // Sustained.
    const until = performance.now() + WARMUP_MS + BRIDGE_SUSTAIN_MS;
    let cpu: { stop(): Cpu } | undefined;
    let at0 = 0;
    let t0 = 0;
    const warm = setTimeout(() => {
      at0 = received;
      t0 = performance.now();
      cpu = cpuWindow([router.pid, broker.pid]);
    }, WARMUP_MS);
    const pubStart = performance.now();
    const acked = await publisher(pub, BRIDGE_WINDOW, () => performance.now() > until);
    const ackedPerSec = acked / ((performance.now() - pubStart) / 1000);
    clearTimeout(warm);
    const sustainedPerSec = (received - at0) / ((performance.now() - t0) / 1000);
    const sustainedCpu = cpu!.stop();
    // Let the queue empty before the drain.
    for (const deadline = Date.now() + 60_000; received < acked && Date.now() < deadline; )
      await new Promise((r) => setTimeout(r, 50));

    // Drain after an outage.
    await broker.pause();
    const before = received;
    await publisher(pub, BRIDGE_WINDOW, () => false, DRAIN_EVENTS);
    const d0 = performance.now();
    await broker.resume();
    const drainCpu = cpuWindow([router.pid, broker.pid]);
    for (const deadline = Date.now() + 120_000; received - before < DRAIN_EVENTS && Date.now() < deadline; )
      await new Promise((r) => setTimeout(r, 10));
    const drainPerSec = (received - before) / ((performance.now() - d0) / 1000);
    pub.destroy();
    return {
      sustainedPerSec,
      sustainedCpu,
      ackedPerSec,
      drainPerSec,
      drainCpu: drainCpu.stop(),
      brokerPid: broker.pid,
    };
  } finally {
    sub.end(true);
    await router.stop();
    await broker.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
