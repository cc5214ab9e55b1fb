// A real router for the bridge tests: startServer (the serve command's own wiring) on a fresh
// data folder, an anonymous realm "realm1", a RawSocket listener for WAMP clients, and the
// bridges given.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/config.ts';
import { startServer, type Server } from '../../src/cli/serve.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import type { BridgeStatus } from '../../src/bridge/bridges.ts';
import { RawClient } from '../helpers/raw-client.ts';

export interface World {
  dir: string;
  server: Server;
  rawPort: number;
  /** ws://... of the WebSocket listener, when one was asked for. */
  wsUrl: string;
  wamp(realm?: string, details?: Record<string, unknown>): Promise<RawClient>;
  status(name: string): BridgeStatus;
  stop(keep?: boolean): Promise<void>;
}

export async function startWorld(
  bridges: unknown[],
  options: {
    dir?: string;
    realms?: unknown[];
    setUp?: (dir: string) => void;
    websocketPort?: number;
    logger?: Logger;
  } = {},
): Promise<World> {
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-bridge-'));
  options.setUp?.(dir);
  const config = parseConfig(
    {
      dataDir: dir,
      realms: options.realms ?? [{ uri: 'realm1', anonymous: true }],
      listeners: {
        rawsocket: [{ host: '127.0.0.1', port: 0 }],
        websocket: options.websocketPort === undefined ? [] : [{ host: '127.0.0.1', port: options.websocketPort }],
      },
      bridges,
    },
    'test',
  );
  const server = await startServer(config, options.logger ?? silentLogger);
  const raw = server.listeners.find((l) => l.transport === 'rawsocket') as { port: number };
  const clients: RawClient[] = [];
  return {
    dir,
    server,
    rawPort: raw.port,
    wsUrl: (() => {
      const ws = server.listeners.find((l) => l.transport === 'websocket') as { port: number } | undefined;
      return ws === undefined ? '' : `ws://127.0.0.1:${ws.port}/ws`;
    })(),
    async wamp(realm = 'realm1', details = {}) {
      const c = await RawClient.connect({ transport: 'rawsocket', port: raw.port, serializer: 'json' });
      clients.push(c);
      await c.join(realm, details);
      return c;
    },
    status(name) {
      const s = server.bridges?.status().find((b) => b.name === name);
      if (s === undefined) throw new Error(`no bridge ${name}`);
      return s;
    },
    async stop(keep = false) {
      for (const c of clients) c.destroy();
      await server.stop();
      if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Publishes with acknowledge and waits for PUBLISHED (or returns the ERROR). */
export async function publishAck(c: RawClient, topic: string, args: unknown[]): Promise<unknown[]> {
  const request = c.requestId();
  c.send([16, request, { acknowledge: true }, topic, args]);
  return c.next((m) => (m[0] === 17 && m[1] === request) || (m[0] === 8 && m[1] === 16 && m[2] === request), 10_000);
}
