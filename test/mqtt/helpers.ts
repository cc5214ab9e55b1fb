// A real router for the MQTT tests: startServer (the serve command's own wiring) on a fresh
// data folder, with a security-store realm "com.app" (users, grants) and an anonymous
// config-file realm "open", an MQTT listener on each and a RawSocket listener for WAMP peers.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { generate, parser, type Packet } from 'mqtt-packet';
import { parseConfig } from '../../src/config/config.ts';
import { startServer, type Server } from '../../src/cli/serve.ts';
import { silentLogger } from '../../src/log.ts';
import { openDatabase } from '../../src/store/database.ts';
import { createSecurity } from '../../src/security/index.ts';
import { RawClient } from '../helpers/raw-client.ts';

export const PASSWORD = 'correct horse battery';

export interface World {
  dir: string;
  server: Server;
  /** MQTT port of realm "open" (anonymous from loopback) and of "com.app" (users). */
  openPort: number;
  appPort: number;
  rawPort: number;
  wamp(realm?: string): Promise<RawClient>;
  /** Stops the router; `keep` leaves the data folder for a restart. */
  stop(keep?: boolean): Promise<void>;
}

/** `reuse`: the data folder of a stopped world, for a restart (its users are there already). */
export async function startWorld(
  mqtt: Record<string, unknown> = {},
  reuse?: string,
  listeners: Record<string, unknown> = {},
): Promise<World> {
  const dir = reuse ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-mqtt-'));
  if (reuse === undefined) setUp(dir);
  return serve(dir, mqtt, listeners);
}

function setUp(dir: string): void {
  const db = openDatabase(dir);
  const store = createSecurity(db, {}).store;
  store.createRealm({ uri: 'com.app', authmethods: ['ticket'] });
  store.createUser('com.app', { authid: 'alice', password: PASSWORD });
  store.createUser('com.app', { authid: 'bob', password: PASSWORD });
  store.createGrant('com.app', {
    permissions: ['publish', 'subscribe'],
    uri: 'sensors.',
    match: 'prefix',
    to: ['user:alice'],
  });
  store.createGrant('com.app', { permissions: ['publish'], uri: 'sensors.', match: 'prefix', to: ['user:bob'] });
  // willa may leave a will (the call grant its testament needs), and publish under sensors. only.
  store.createUser('com.app', { authid: 'willa', password: PASSWORD });
  store.createGrant('com.app', { permissions: ['call'], uri: 'wamp.session.add_testament', to: ['user:willa'] });
  store.createGrant('com.app', { permissions: ['publish'], uri: 'sensors.', match: 'prefix', to: ['user:willa'] });
  db.close();
}

async function serve(dir: string, mqtt: Record<string, unknown>, listeners: Record<string, unknown>): Promise<World> {
  const config = parseConfig(
    {
      dataDir: dir,
      realms: [{ uri: 'open', anonymous: true }],
      listeners: {
        rawsocket: [{ host: '127.0.0.1', port: 0 }],
        mqtt: [
          { host: '127.0.0.1', port: 0, realm: 'open', ...mqtt },
          { host: '127.0.0.1', port: 0, realm: 'com.app', ...mqtt },
        ],
        ...listeners,
      },
    },
    'test',
  );
  const server = await startServer(config, silentLogger);
  const ports = server.listeners.filter((l) => l.transport === 'mqtt').map((l) => (l as { port: number }).port);
  const raw = server.listeners.find((l) => l.transport === 'rawsocket') as { port: number };
  const clients: RawClient[] = [];
  return {
    dir,
    server,
    openPort: ports[0]!,
    appPort: ports[1]!,
    rawPort: raw.port,
    async wamp(realm = 'open') {
      const c = await RawClient.connect({ transport: 'rawsocket', port: raw.port, serializer: 'json' });
      clients.push(c);
      await c.join(realm);
      return c;
    },
    async stop(keep = false) {
      for (const c of clients) c.destroy();
      await server.stop();
      if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a mosquitto client; resolves when it exits (killed after `timeoutMs`). */
export function run(
  cmd: string,
  args: string[],
  timeoutMs = 10_000,
): Promise<RunResult> & { kill(signal?: NodeJS.Signals): void } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<RunResult>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return Object.assign(done, { kill: (signal: NodeJS.Signals = 'SIGTERM') => child.kill(signal) });
}

/** Polls until `check` holds; fails after `ms`. */
/** CONNECT options of a client whose session is kept: clean session false (3.1.1), 600 s expiry (MQTT 5). */
export function keepSession(clientId: string, v: 4 | 5): Record<string, unknown> {
  return { clientId, clean: false, ...(v === 5 && { properties: { sessionExpiryInterval: 600 } }) };
}

export async function until(check: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the realm has a subscription on `topic` (the meta API: WAMP sees MQTT clients' subscriptions). */
export async function subscribed(
  c: RawClient,
  topic: string,
  match: 'exact' | 'prefix' | 'wildcard' = 'exact',
): Promise<void> {
  await until(
    async () => {
      const r = await c.call('wamp.subscription.lookup', [topic, { match }]);
      return r[0] === 50 && typeof (r[3] as unknown[])[0] === 'number';
    },
    5000,
    `subscription on '${topic}'`,
  );
}

/** A received packet, with the fields the tests read (mqtt-packet's union is too narrow to index). */
export interface Received {
  cmd: string;
  reasonCode?: number;
  returnCode?: number;
  sessionPresent?: boolean;
  properties?: Record<string, unknown>;
  granted?: number[];
  messageId?: number;
  payload?: Buffer;
  topic?: string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
}

/** A bare MQTT connection that sends exactly the packets (or bytes) a test gives it. */
export class RawMqtt {
  readonly packets: Received[] = [];
  closed = false;
  readonly #socket: net.Socket;
  readonly #version: number;

  private constructor(socket: net.Socket, version: number) {
    this.#socket = socket;
    this.#version = version;
    const p = parser({ protocolVersion: version });
    p.on('packet', (packet: Packet) => this.packets.push(packet as Received));
    socket.on('data', (d: Buffer) => p.parse(d));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {});
  }

  static connect(port: number, version: 4 | 5): Promise<RawMqtt> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawMqtt(s, version)));
      s.once('error', reject);
    });
  }

  send(packet: Packet): void {
    this.#socket.write(generate(packet, { protocolVersion: this.#version as 4 | 5 }));
  }
  sendBytes(bytes: Uint8Array): void {
    this.#socket.write(bytes);
  }
  destroy(): void {
    this.#socket.destroy();
  }

  async next(cmd: string, ms = 5000): Promise<Received> {
    await until(
      () => this.packets.some((p) => p.cmd === cmd),
      ms,
      `${cmd}; got ${this.packets.map((p) => p.cmd).join(',')}`,
    );
    const i = this.packets.findIndex((p) => p.cmd === cmd);
    return this.packets.splice(i, 1)[0]!;
  }

  /** CONNECT and its CONNACK. */
  async open(fields: Record<string, unknown> = {}): Promise<Received> {
    this.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: this.#version as 4 | 5,
      clean: true,
      clientId: `raw-${Math.random().toString(36).slice(2)}`,
      keepalive: 60,
      ...fields,
    } as Packet);
    return this.next('connack');
  }
}

/** Connects and collects messages from the first moment (queued ones may precede the promise). */
export async function connectMqtt(
  port: number,
  options: mqtt.IClientOptions,
): Promise<{ client: mqtt.MqttClient; got: string[]; sessionPresent: boolean }> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, ...options });
  const got: string[] = [];
  client.on('message', (_topic, payload) => got.push(payload.toString()));
  const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { client, got, sessionPresent: connack.sessionPresent };
}
