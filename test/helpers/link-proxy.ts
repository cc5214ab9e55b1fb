// A TCP relay between two mesh link endpoints that parses the link frames going each way, so a
// test can read them, rewrite them, and inject octets of its own: the man in the middle that
// link integrity (src/mesh/links/integrity.ts) must defeat. It knows no keys.

import net from 'node:net';
import { LinkFrameType, PREAMBLE_SIZE } from '../../src/mesh/links/framing.ts';

const HOST = '127.0.0.1';

export interface TappedFrame {
  readonly type: number;
  readonly payload: Buffer;
  readonly raw: Buffer;
}

/** One direction of a proxied connection, forwarded frame by frame after the 8-octet preamble. */
export class Tap {
  readonly frames: TappedFrame[] = [];
  /** Octets to forward instead of a frame (undefined: the frame as it is). */
  rewrite: ((frame: TappedFrame) => Uint8Array | undefined) | undefined;
  readonly #to: net.Socket;
  #buf = Buffer.alloc(0);
  #preamble = 0;

  constructor(to: net.Socket) {
    this.#to = to;
  }

  feed(chunk: Buffer): void {
    if (this.#preamble < PREAMBLE_SIZE) {
      const n = Math.min(PREAMBLE_SIZE - this.#preamble, chunk.length);
      this.#to.write(chunk.subarray(0, n));
      this.#preamble += n;
      chunk = chunk.subarray(n);
    }
    this.#buf = Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 4) {
      const length = this.#buf.readUIntBE(1, 3);
      if (this.#buf.length < 4 + length) break;
      const raw = Buffer.from(this.#buf.subarray(0, 4 + length));
      this.#buf = this.#buf.subarray(4 + length);
      const frame = { type: raw[0]!, payload: raw.subarray(4), raw };
      this.frames.push(frame);
      this.#to.write(this.rewrite?.(frame) ?? raw);
    }
  }

  /** Writes octets of our own into the stream, between two frames. */
  inject(bytes: Uint8Array): void {
    this.#to.write(bytes);
  }

  /** The tagged batch (its frames and its TAG, as sent) holding the first frame that matches (one the sender wrote after its first TAG). */
  batchWith(match: (frame: TappedFrame) => boolean): Buffer {
    const at = this.frames.findIndex(match);
    if (at < 0) throw new Error('no such frame seen');
    let start = at;
    while (start > 0 && this.frames[start - 1]!.type !== LinkFrameType.TAG) start--;
    let end = at;
    while (this.frames[end]!.type !== LinkFrameType.TAG) end++;
    return Buffer.concat(this.frames.slice(start, end + 1).map((f) => f.raw));
  }
}

export interface ProxiedConnection {
  toAcceptor: Tap;
  toDialer: Tap;
}
export interface LinkProxy {
  port: number;
  conns: ProxiedConnection[];
  /** Called for each new connection before any of its octets is forwarded. */
  onConnection?: (conn: ProxiedConnection) => void;
  /** Cuts the wire: closes every relayed connection and refuses new ones (the nodes stay up). */
  cut(): void;
}

/** A TCP relay to a node's link port that lets a test read, rewrite and inject frames. */
export async function linkProxy(t: { teardown(fn: () => unknown): void }, targetPort: number): Promise<LinkProxy> {
  const conns: ProxiedConnection[] = [];
  const sockets = new Set<net.Socket>();
  let cut = false;
  const proxy: LinkProxy = {
    port: 0,
    conns,
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
    },
  };
  const server = net.createServer((down) => {
    if (cut) {
      down.destroy();
      return;
    }
    const up = net.connect({ host: HOST, port: targetPort });
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    const taps = { toAcceptor: new Tap(up), toDialer: new Tap(down) };
    conns.push(taps);
    proxy.onConnection?.(taps);
    down.on('data', (c: Buffer) => taps.toAcceptor.feed(c));
    up.on('data', (c: Buffer) => taps.toDialer.feed(c));
    down.on('end', () => up.end());
    up.on('end', () => down.end());
    down.on('close', () => up.end());
    up.on('close', () => down.end());
  });
  await new Promise<void>((resolve) => server.listen({ host: HOST, port: 0 }, resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  proxy.port = (server.address() as net.AddressInfo).port;
  return proxy;
}
