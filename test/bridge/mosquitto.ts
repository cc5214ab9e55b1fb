// A real Debian mosquitto broker for the bridge tests: its own temp folder and config, on a free
// loopback port that stays the same across stop and start (so a bridge reconnects to it), with
// persistence on, so a subscriber's persistent session (and the QoS 1 messages queued for it)
// survives the broker's restart.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';

const BIN = fs.existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * A free port below the kernel's ephemeral range (32768 and up on Linux): the broker's port is
 * free while it is stopped, and a port from that range could meanwhile be given to any other
 * process's connection or port-0 listener, which the restarted broker would then meet.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
}

export class Mosquitto {
  readonly port: number;
  readonly dir: string;
  #child: ChildProcess | undefined;
  #log = '';

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  static async start(extra: string[] = []): Promise<Mosquitto> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-mosquitto-'));
    const port = await freePort();
    fs.writeFileSync(
      path.join(dir, 'mosquitto.conf'),
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${dir}/`,
        // Started as root (CI), mosquitto would drop to its own user and could not write its
        // persistence file in this root-owned folder: persistent sessions would be lost on a
        // restart. Ignored when not started as root.
        'user root',
        // Unbounded queues for offline persistent subscribers: the tests count every message.
        'max_queued_messages 0',
        'max_inflight_messages 0',
        ...extra,
      ].join('\n'),
    );
    const m = new Mosquitto(port, dir);
    await m.resume();
    return m;
  }

  /** The running broker's process id (0 while stopped). */
  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  log(): string {
    return this.#log;
  }

  /** Starts the broker (again) and waits until it accepts connections. */
  async resume(): Promise<void> {
    const child = spawn(BIN, ['-c', path.join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    child.once('exit', () => live.delete(child));
    const grab = (b: Buffer) => {
      this.#log = (this.#log + b.toString()).slice(-20_000);
    };
    child.stdout!.on('data', grab);
    child.stderr!.on('data', grab);
    this.#child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(this.port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (ok && child.exitCode === null) return;
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`mosquitto did not start on ${this.port}: ${this.#log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM (it saves its persistent sessions) and wait for the exit. */
  async pause(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  async stop(): Promise<void> {
    await this.pause();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A persistent QoS 1 subscriber (clean session false, fixed client id) that reconnects on its
 * own; what it receives is collected as payload strings, in order.
 */
export async function subscriber(
  broker: Mosquitto,
  filter: string,
  clientId = 'test-sub',
): Promise<{ got: string[]; topics: string[]; client: mqtt.MqttClient }> {
  const client = mqtt.connect(broker.url, { clientId, clean: false, reconnectPeriod: 100, protocolVersion: 4 });
  const got: string[] = [];
  const topics: string[] = [];
  client.on('message', (topic, payload) => {
    topics.push(topic);
    got.push(payload.toString());
  });
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return { got, topics, client };
}

export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
