// The MQTT TCP listener: accepts connections and gives each an MqttConnection, which joins the
// listener's realm as an ordinary WAMP session.

import type net from 'node:net';
import tls from 'node:tls';
import { silentLogger } from '../log.ts';
import type { PeerAcceptor, TransportInfo } from '../router/peer.ts';
import { tlsInfo } from '../transport/client-certificate.ts';
import { PreAuthBudget } from '../transport/pre-auth-budget.ts';
import { createClientServer, reloadClientServer } from '../transport/tcp-server.ts';
import { WebSocketAdmission, type Share } from '../transport/websocket-admission.ts';
import type { LoadedTls } from '../transport/tls-files.ts';
import { isLoopback, unmapIPv4 } from '../net/address.ts';
import { flushAtEndOfTick, type Flushable } from '../net/end-of-tick.ts';
import type { MqttConnection, MqttTransport } from './connection.ts';
import { MqttHub } from './hub.ts';
import { mqttDefaults, type MqttOptions } from './options.ts';
import type { SessionRegistry } from './session.ts';

export interface MqttListener {
  readonly port: number;
  readonly hub: MqttHub;
  close(): Promise<void>;
  /** New certificate for connections accepted from now on (TLS listeners only). */
  reloadTls?(loaded: LoadedTls): void;
}

// An MQTT client speaking plain TCP to a TLS listener starts with CONNECT (packet type 1, no
// flags). It is closed without an answer: a CONNACK's layout depends on the protocol version,
// which its first octet does not tell.
const plainOnTls = { firstOctet: 0x10, name: 'plain MQTT on a TLS port' };

const LINGER_MS = 2000; // a client that does not close its side after ours is cut
const COALESCE_BYTES = 64 * 1024; // a tick's packets up to this are copied into one write

/**
 * A TCP connection as an MQTT transport (a class: no closures per connection). Packets written
 * in one tick leave in one write at its end: a fan-out of many publications read in one go is
 * one syscall per subscriber, not one per PUBLISH. (Not a FrameWriter: its queue costs an idle
 * client two arrays and eight fields for framing MQTT does not need.)
 */
class TcpTransport implements MqttTransport, Flushable {
  readonly info: TransportInfo;
  readonly #socket: net.Socket;
  /** Its share of the pre-login budget, until CONNACK or close. */
  #share: Share | undefined;
  connection: MqttConnection | undefined;
  /** Packets of this tick, not yet handed to the socket; undefined between ticks. */
  #queue: Uint8Array[] | undefined;
  #queued = 0;

  constructor(socket: net.Socket, address: string, share: Share) {
    this.#socket = socket;
    this.#share = share;
    const host = address.includes(':') ? `[${address}]` : address;
    const info = { type: 'mqtt', peer: `${host}:${socket.remotePort}`, local: isLoopback(address) };
    this.info = socket instanceof tls.TLSSocket ? { ...info, ...tlsInfo(socket) } : info;
  }

  write(bytes: Uint8Array): void {
    if (this.#socket.destroyed) return;
    if (this.#queue === undefined) {
      this.#queue = [bytes];
      flushAtEndOfTick(this);
    } else this.#queue.push(bytes);
    this.#queued += bytes.length;
  }

  flush(): void {
    const queue = this.#queue;
    const total = this.#queued;
    this.#queue = undefined;
    this.#queued = 0;
    const socket = this.#socket;
    if (queue === undefined || socket.destroyed || !socket.writable) return;
    if (queue.length === 1) socket.write(queue[0]!);
    // Small packets are copied into one buffer; big ones go as they are, in one writev.
    else if (total <= COALESCE_BYTES) socket.write(Buffer.concat(queue, total));
    else {
      socket.cork();
      for (const bytes of queue) socket.write(bytes);
      socket.uncork();
    }
  }

  bufferedAmount(): number {
    return this.#socket.writableLength + this.#queued;
  }

  connected(): void {
    this.#share?.release();
    this.#share = undefined;
  }

  end(): void {
    const socket = this.#socket;
    if (socket.destroyed) return;
    this.flush();
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }
}

export async function listenMqtt(
  address: { host: string; port: number },
  acceptor: PeerAcceptor,
  options: Partial<MqttOptions> & { realm: string; tls?: LoadedTls; preAuthBudget?: PreAuthBudget },
  registry: SessionRegistry = new Map(),
): Promise<MqttListener> {
  const hub = new MqttHub(acceptor, { ...mqttDefaults, ...options }, registry);
  const connections = new Map<net.Socket, TcpTransport>();
  /** Accepted, waiting for a share of the pre-login budget. */
  const waiting = new Set<net.Socket>();
  const log = hub.options.logger ?? silentLogger;
  // Before CONNACK a client holds a share of the pre-login budget (README "Limits before
  // login"): the largest packet it may send then, the most its connection can make the router
  // buffer. The same admission as WAMP WebSocket upgrades: at most preAuthConnectionsPerAddress
  // shares per address, and a connection that finds none waits (unread) for one, up to the
  // connect timeout, and is then closed.
  const budget = options.preAuthBudget ?? new PreAuthBudget({ logger: log });
  const admission = new WebSocketAdmission({
    budget,
    bytes: Math.min(hub.options.preAuthMaxPacketBytes, hub.options.maxPacketBytes),
    waitMs: hub.options.connectTimeoutMs,
  });
  // One handler of each kind for every socket (`this` is the socket), not three closures per
  // connection: ten thousand idle clients each held them.
  function onData(this: net.Socket, chunk: Buffer): void {
    connections.get(this)?.connection?.data(chunk, Date.now());
  }
  function onError(this: net.Socket, err: Error): void {
    hub.options.logger?.debug(
      { peer: `${this.remoteAddress}:${this.remotePort}`, err: err.message },
      'mqtt socket error',
    );
  }
  function onClose(this: net.Socket): void {
    const transport = connections.get(this);
    connections.delete(this);
    if (transport?.connection === undefined) return;
    transport.connected(); // gives back the pre-login share of one that never logged in
    hub.closed(transport.connection);
  }
  // With TLS a client is accepted once its TLS handshake is done, within connectTimeoutMs.
  const serverOptions = { tls: options.tls, handshakeTimeoutMs: hub.options.connectTimeoutMs, log, plain: plainOnTls };
  const server = createClientServer(serverOptions, (socket) => {
    const address = unmapIPv4(socket.remoteAddress ?? 'unknown');
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.pause(); // nothing is read until the connection has a share
    waiting.add(socket);
    let withdraw = (): void => undefined;
    const whileWaiting = () => {
      waiting.delete(socket);
      withdraw();
    };
    socket.once('close', whileWaiting);
    withdraw = admission.request({
      address,
      admit(share) {
        waiting.delete(socket);
        socket.off('close', whileWaiting);
        if (socket.destroyed) return share.release();
        const transport = new TcpTransport(socket, address, share);
        connections.set(socket, transport);
        transport.connection = hub.accept(transport);
        socket.on('data', onData);
        socket.resume();
      },
      refuse() {
        socket.destroy();
      },
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
    ...(options.tls !== undefined && {
      reloadTls: (loaded: LoadedTls) => reloadClientServer(server, loaded),
    }),
    close() {
      hub.close();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of [...waiting, ...connections.keys()]) s.destroy();
      });
    },
  };
}
