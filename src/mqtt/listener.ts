// The MQTT TCP listener: accepts connections and gives each an MqttConnection, which joins the
// listener's realm as an ordinary WAMP session. One timer per listener drives connect
// timeouts and keep-alive for all its connections.

import net from 'node:net';
import type { PeerAcceptor } from '../router/peer.ts';
import { isLoopback, unmapIPv4 } from '../transport/rawsocket-server.ts';
import { MqttConnection, type MqttTransport } from './connection.ts';
import type { SessionRegistry } from './session.ts';
import { mqttDefaults, type MqttOptions } from './options.ts';

export interface MqttListener {
  readonly port: number;
  /** Live MQTT connections (for tests and metrics). */
  readonly connections: ReadonlySet<MqttConnection>;
  close(): Promise<void>;
}

const TICK_MS = 1000; // keep-alive is counted in seconds
const LINGER_MS = 2000; // a client that does not close its side after ours is cut

export async function listenMqtt(
  address: { host: string; port: number },
  acceptor: PeerAcceptor,
  options: Partial<MqttOptions> & { realm: string },
): Promise<MqttListener> {
  const o: MqttOptions = { ...mqttDefaults, ...options };
  const registry: SessionRegistry = new Map();
  // Sessions whose clients stayed away past their expiry while the router was down.
  o.sessions?.purgeExpired(Date.now());
  const connections = new Set<MqttConnection>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    const address = unmapIPv4(socket.remoteAddress ?? 'unknown');
    const host = address.includes(':') ? `[${address}]` : address;
    const transport: MqttTransport = {
      info: { type: 'mqtt', peer: `${host}:${socket.remotePort}`, local: isLoopback(address) },
      write: (bytes) => { if (!socket.destroyed) socket.write(bytes); },
      bufferedAmount: () => socket.writableLength,
      end: () => {
        if (socket.destroyed) return;
        socket.end();
        setTimeout(() => socket.destroy(), LINGER_MS).unref();
      },
    };
    const connection = new MqttConnection(transport, acceptor, o, registry, Date.now());
    connections.add(connection);
    socket.on('data', (chunk: Buffer) => connection.data(chunk, Date.now()));
    socket.on('error', (err) => o.logger?.debug({ peer: transport.info.peer, err: err.message }, 'mqtt socket error'));
    socket.on('close', () => {
      sockets.delete(socket);
      connections.delete(connection);
      connection.transportClosed(Date.now());
    });
  });
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const c of connections) c.tick(now);
    // Detached persistent sessions expire here too (they have no connection).
    for (const s of [...registry.values()]) s.tick(now);
  }, TICK_MS);
  ticker.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    clearInterval(ticker);
    throw err;
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections,
    close() {
      clearInterval(ticker);
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
