// The brokers the MQTT bench compares, each started fresh on loopback: wampmesh's MQTT listener
// (this checkout's and BENCH_BASE's), mosquitto, aedes, and the relay that is the generator's ceiling.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IDLE } from './mqtt-settings.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');

export interface Broker {
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

export async function mosquitto(): Promise<Broker> {
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

export const aedes = (): Promise<Broker> => nodeBroker('aedes', 'mqtt-aedes-child.ts');
export const relay = (): Promise<Broker> => nodeBroker('relay', 'mqtt-relay-child.ts');
export const wampmesh = (): Promise<Broker> => wampmeshAt(path.join(repo, 'scripts/wampmesh'), 'wampmesh');
export const base = (): Promise<Broker> => wampmeshAt(path.resolve(process.env.BENCH_BASE!), 'wampmesh (base)');
