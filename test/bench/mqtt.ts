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

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { raiseFileLimit, startChild } from './common.ts';
import { aedes, base, mosquitto, relay, wampmesh, type Broker } from './mqtt-brokers.ts';
import { measureFanout, measureIdle, measureQos1, prepareFanout, type Fanout } from './mqtt-measure.ts';
import { mqttReport, type MqttFigures } from './mqtt-report.ts';
import { CHILDREN, IDLE, SUBSCRIBERS } from './mqtt-settings.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
  return mqttReport(figures, rounds);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  raiseFileLimit(65_536);
  console.log((await runMqttBench(Number(process.env.BENCH_ROUNDS ?? 3))).join('\n'));
  process.exit(0);
}
