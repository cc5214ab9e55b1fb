// gammazero/nexus (v3, a WAMP router in Go) as an optional baseline of the benchmark:
// BENCH_NEXUS=<path to a nexusd executable> makes bench.ts start it beside the router and drive
// it with the same generator (rpc.ts). The repo carries neither nexusd nor a recipe for it (it
// is a third party measured beside us); BENCHMARKS.md says which build its figures came from.
//
// nexusd is started the way its README shows (`nexusd -c <config>`), with a config written here:
// realm1 open to anonymous sessions, RawSocket on TCP and WebSocket, both on loopback ports
// picked here (nexusd logs the configured address, not the one the OS chose for ":0").

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { within } from '../helpers/raw-client.ts';
import { IN_FLIGHT } from './rpc.ts';

export interface NexusProcess {
  readonly pid: number;
  readonly rawsocketPort: number;
  /** WebSocket (JSON, CBOR or MessagePack, chosen by the subprotocol). */
  readonly wsUrl: string;
  stop(): Promise<void>;
}

// nexus hands each outgoing message to a per-session queue of this many messages and, when it is
// full, answers a CALL with wamp.error.network_failure ("callee blocked") or drops a RESULT. At
// its default (64) the generator's IN_FLIGHT calls would overflow it, so it gets room for all
// of them in both directions: the same window every other target is given.
const OUT_QUEUE_SIZE = 4 * IN_FLIGHT;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

const live = new Set<ChildProcess>();
// 'exit' handlers must be synchronous: a bench that dies leaves no nexusd holding its ports.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A loopback port free right now (the OS's pick, released for nexusd to take). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startNexus(bin: string): Promise<NexusProcess> {
  const [rawsocketPort, wsPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'wampmesh-nexus-'));
  const configFile = join(dir, 'nexus.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      // Keep-alives off: idle probes have no place in a throughput run.
      websocket: { address: `127.0.0.1:${wsPort}`, keep_alive: 0, out_queue_size: OUT_QUEUE_SIZE },
      rawsocket: {
        tcp_address: `127.0.0.1:${rawsocketPort}`,
        tcp_keepalive_interval: 0,
        out_queue_size: OUT_QUEUE_SIZE,
      },
      router: { realms: [{ uri: 'realm1', anonymous_auth: true }], debug: false },
    }),
  );
  const child = spawn(bin, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => {
      live.delete(child);
      rmSync(dir, { recursive: true, force: true });
      resolve();
    });
  });

  // Its log goes to stdout; both listeners are up once both "Listening" lines are there.
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    log = (log + chunk).slice(-8_000);
  });
  const listening = new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`could not be started: ${e.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`exited (${code ?? signal}) before listening`)));
    child.stdout.setEncoding('utf8');
    // Drained for its whole life: a full pipe would block its logging.
    child.stdout.on('data', (chunk: string) => {
      log = (log + chunk).slice(-8_000);
      if (/Listening for TCP/.test(log) && /Listening for websocket/.test(log)) resolve();
    });
  });
  try {
    await within(listening, START_TIMEOUT_MS, `not listening within ${START_TIMEOUT_MS} ms`);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`nexusd (${bin}): ${(e as Error).message}; its output: ${log}`);
  }

  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid!,
    rawsocketPort,
    wsUrl: `ws://127.0.0.1:${wsPort}/`,
    stop() {
      stopping ??= (async () => {
        // SIGINT is the signal nexusd shuts down on (closes its listeners and sessions).
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
