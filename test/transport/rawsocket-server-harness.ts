// What the RawSocket server tests stand on: an acceptor that echoes and records, and a byte-level
// client that speaks the protocol itself rather than through the router's framing code.

import net from 'node:net';
import type { Peer, PeerAcceptor, PeerHandler } from '../../src/router/peer.ts';
import {
  listenRawSocket,
  type RawSocketListener,
  type RawSocketOptions,
  type RawSocketTarget,
} from '../../src/transport/rawsocket-server.ts';

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface Attached {
  readonly peer: Peer;
  readonly received: Uint8Array[];
  closedCalls: number;
}

/** Echoes every frame back, unless a test gives it another reaction. Records everything. */
export class EchoAcceptor implements PeerAcceptor {
  readonly attached: Attached[] = [];
  onFrame: (peer: Peer, frame: Uint8Array) => void = (peer, frame) => peer.send(frame);

  attach(peer: Peer): PeerHandler {
    const record: Attached = { peer, received: [], closedCalls: 0 };
    this.attached.push(record);
    return {
      receive: (frame) => {
        record.received.push(frame);
        this.onFrame(peer, frame);
      },
      closed: () => {
        record.closedCalls++;
      },
    };
  }

  last(): Attached {
    const a = this.attached.at(-1);
    if (!a) throw new Error('nothing attached');
    return a;
  }
}

/** A raw byte-level client: the test speaks the protocol itself, not through our framing code. */
export class Client {
  readonly socket: net.Socket;
  #chunks: Buffer[] = [];
  #length = 0;
  closed = false;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#chunks.push(d);
      this.#length += d.length;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static connect(to: { port: number } | { path: string }): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = 'path' in to ? net.connect({ path: to.path }) : net.connect({ host: '127.0.0.1', port: to.port });
      socket.once('connect', () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Uint8Array | number[]): void {
    this.socket.write(Uint8Array.from(bytes));
  }

  /** Bytes received and not read yet. */
  get buffered(): number {
    return this.#length;
  }

  async read(n: number): Promise<Buffer> {
    await waitFor(() => this.#length >= n || this.closed, `${n} bytes`);
    if (this.#length < n) throw new Error(`connection closed after ${this.#length} of ${n} bytes`);
    const all = Buffer.concat(this.#chunks); // concat once per read, not per chunk
    this.#chunks = n < all.length ? [all.subarray(n)] : [];
    this.#length -= n;
    return all.subarray(0, n);
  }

  async handshake(serializer: number, lengthExp = 15): Promise<Buffer> {
    this.write([0x7f, (lengthExp << 4) | serializer, 0, 0]);
    return this.read(4);
  }

  sendFrame(type: number, payload: Uint8Array | string): void {
    this.socket.write(frame(type, payload));
  }

  async readFrame(): Promise<{ type: number; payload: string }> {
    const header = await this.read(4);
    const length = header.readUIntBE(1, 3);
    return { type: header[0] ?? -1, payload: (await this.read(length)).toString() };
  }

  waitClosed(what = 'connection close', timeoutMs = 3000): Promise<void> {
    return waitFor(() => this.closed, what, timeoutMs);
  }
}

export function frame(type: number, payload: Uint8Array | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  header[0] = type;
  return Buffer.concat([header, body]);
}

export async function server(
  t: { teardown(fn: () => Promise<void>): void },
  options: RawSocketOptions = {},
  target: RawSocketTarget = { host: '127.0.0.1', port: 0 },
): Promise<{ acceptor: EchoAcceptor; listener: RawSocketListener; port: number }> {
  const acceptor = new EchoAcceptor();
  const listener = await listenRawSocket(target, acceptor, options);
  t.teardown(() => listener.close());
  return { acceptor, listener, port: listener.port ?? -1 };
}
