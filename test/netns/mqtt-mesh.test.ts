// MQTT across a real multi-hop mesh: `wampmesh serve` with an MQTT listener in namespaces A, B
// and C of chain4 (A reaches only B, B only A and C), meshed by mDNS alone (no seeds). An MQTT
// publisher on A (mosquitto_pub), an MQTT subscriber on B (mosquitto_sub, MQTT 5) and a WAMP
// subscriber on C (Autobahn|Python) two hops away: each subscriber gets every event once.

import test from 'ava';
import {
  announceSkip,
  createBed,
  eventually,
  netnsUnavailable,
  pythonAutobahnMissing,
  startInNetns,
  type Bed,
  type NsProcess,
} from './harness.ts';
import { meshRouter, startAgent, workDir, type Agent, type MeshRouter } from './mesh-harness.ts';

const unavailable = netnsUnavailable();
const MQTT_PORT = 1883;
const TOPIC = 'mesh.mqtt.t';
const EVENTS = 50;

if (unavailable !== undefined) {
  announceSkip('test/netns/mqtt-mesh.test.ts', unavailable);
  test.skip(`netns MQTT mesh (SKIPPED: ${unavailable})`, () => {});
} else {
  let bed: Bed | undefined;
  let work: { dir: string; remove(): void } | undefined;
  const routers: MeshRouter[] = [];
  const processes: NsProcess[] = [];
  let onC: Agent | undefined;

  test.before(() => {
    const missing = pythonAutobahnMissing();
    if (missing !== undefined) throw new Error(missing);
  });

  test.after.always(async () => {
    await onC?.stop();
    await Promise.all(processes.map((p) => p.stop(2_000)));
    await Promise.all(routers.map((r) => r.proc?.stop(3_000)));
    bed?.down();
    work?.remove();
  });

  test.serial('MQTT publisher on A; MQTT subscriber on B and WAMP subscriber on C get every event once', async (t) => {
    bed = createBed('chain4', 'mqttmesh');
    work = workDir('mqtt');
    const mqtt = { mqtt: [{ host: '127.0.0.1', port: MQTT_PORT, realm: 'realm1' }] };
    for (const n of ['A', 'B', 'C']) routers.push(meshRouter(bed, n, work.dir, mqtt));
    await Promise.all(routers.map((r) => r.start()));

    onC = await startAgent(bed.node('C').ns, 'C');
    t.true((await onC.request({ op: 'subscribe', topic: TOPIC })).ok);
    const subB = startInNetns(
      bed.node('B').ns,
      'mosquitto_sub',
      ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-V', 'mqttv5', '-q', '1', '-t', TOPIC.replaceAll('.', '/')],
      { name: 'mosquitto_sub B' },
    );
    // -l: one message per stdin line, over one connection.
    const pubA = startInNetns(
      bed.node('A').ns,
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-V', 'mqttv311', '-q', '1', '-t', TOPIC.replaceAll('.', '/'), '-l'],
      { name: 'mosquitto_pub A', stdin: true },
    );
    processes.push(subB, pubA);

    // The mesh converges (links by mDNS, then both subscriptions known on A): probes until both got one.
    const probesOf = (xs: readonly unknown[]): number => xs.filter((x) => (x as { probe?: number })?.probe).length;
    const atC = (): unknown[] => onC!.events(TOPIC).map((args) => args[0]);
    const atB = (): unknown[] => subB.lines().map((l) => JSON.parse(l) as unknown);
    const started = Date.now();
    let probe = 0;
    await eventually(
      'a probe from A at B and at C',
      60_000,
      () => {
        pubA.send(JSON.stringify({ probe: ++probe }));
        return probesOf(atB()) > 0 && probesOf(atC()) > 0 ? true : undefined;
      },
      500,
    );
    t.log(`mesh converged ${Date.now() - started} ms after the subscribers were up (${probe} probes)`);

    for (let n = 0; n < EVENTS; n++) pubA.send(JSON.stringify({ n }));
    const numbered = (xs: readonly unknown[]): number[] =>
      xs.flatMap((x) => (typeof (x as { n?: unknown })?.n === 'number' ? [(x as { n: number }).n] : []));
    const all = Array.from({ length: EVENTS }, (_, i) => i);
    await eventually('every event at B and at C', 20_000, () =>
      numbered(atB()).length >= EVENTS && numbered(atC()).length >= EVENTS ? true : undefined,
    );
    // Once each, none lost, in the order published (one publisher, one path).
    await new Promise((r) => setTimeout(r, 500)); // duplicates would arrive meanwhile
    t.deepEqual(numbered(atB()), all);
    t.deepEqual(numbered(atC()), all);
  });
}
