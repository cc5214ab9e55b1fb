// The MQTT table of the bench: medians per broker with their spread, and issue 17's targets for
// wampmesh against aedes and mosquitto.

import { median, spread, type Cpu } from './common.ts';
import { FANOUT_MS, IDLE, QOS1_MS, QOS1_WINDOW, SUBSCRIBERS, WARMUP_MS } from './mqtt-settings.ts';

export interface MqttFigures {
  fanout: number[];
  fanoutCpu: Cpu[];
  qos1: number[];
  idleBytes?: number;
  idleClients?: number;
}

export function mqttReport(figures: Map<string, MqttFigures>, rounds: number): string[] {
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
