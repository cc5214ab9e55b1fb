// The MQTT TCP listener: accepts connections and gives each an MqttConnection, which joins the
// listener's realm as an ordinary WAMP session.

import net from 'node:net';
import type { PeerAcceptor } from '../router/peer.ts';
import { isLoopback, unmapIPv4 } from '../net/address.ts';
import type { MqttTransport } from './connection.ts';
import { MqttHub } from './hub.ts';
import { mqttDefaults, type MqttOptions } from './options.ts';
import type { SessionRegistry } from './session.ts';

export interface MqttListener {
  readonly port: number;
  readonly hub: MqttHub;
  close(): Promise<void>;
}

const LINGER_MS = 2000; // a client that does not close its side after ours is cut

export async function listenMqtt(
  address: { host: string; port: number },
  acceptor: PeerAcceptor,
  options: Partial<MqttOptions> & { realm: string },
  registry: SessionRegistry = new Map(),
): Promise<MqttListener> {
  const hub = new MqttHub(acceptor, { ...mqttDefaults, ...options }, registry);
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    const address = unmapIPv4(socket.remoteAddress ?? 'unknown');
    const host = address.includes(':') ? `[${address}]` : address;
    const transport: MqttTransport = {
      info: { type: 'mqtt', peer: `${host}:${socket.remotePort}`, local: isLoopback(address) },
      write: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      bufferedAmount: () => socket.writableLength,
      end: () => {
        if (socket.destroyed) return;
        socket.end();
        setTimeout(() => socket.destroy(), LINGER_MS).unref();
      },
    };
    const connection = hub.accept(transport);
    socket.on('data', (chunk: Buffer) => connection.data(chunk, Date.now()));
    socket.on('error', (err) =>
      hub.options.logger?.debug({ peer: transport.info.peer, err: err.message }, 'mqtt socket error'),
    );
    socket.on('close', () => {
      sockets.delete(socket);
      hub.closed(connection);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    hub.close();
    throw err;
  });
  // Beyond it new connections are closed at once by Node, before any byte is read.
  server.maxConnections = hub.options.maxConnections;
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    hub,
    close() {
      hub.close();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
