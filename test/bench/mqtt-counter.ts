// A bare MQTT 3.1.1 client for the benchmark generator: CONNECT (and SUBSCRIBE) pre-encoded,
// packets counted by walking fixed headers (PUBLISH, PUBACK) without decoding them.
//
// The generator must not be what bounds a broker's figure: a broker that writes each PUBLISH
// with its own write(2) (mosquitto, aedes) makes every subscriber socket readable once per
// packet, and a Node 'data' event (a fresh Buffer, the stream machinery, an emit) costs more
// than the broker spent sending it. So the sockets read with `onread` into one buffer shared by
// all of them (the callback runs synchronously, so nobody else's bytes are in it meanwhile), and
// packets are counted by a scan that keeps its place across reads instead of joining buffers.

import net from 'node:net';
import { generate } from 'mqtt-packet';

const PUBLISH = 3;
const PUBACK = 4;
const CONNACK = 2;
const SUBACK = 9;

/** One read buffer for every socket of this process. */
const shared = Buffer.allocUnsafe(256 * 1024);

export class MqttCounter {
  /** PUBLISH packets received. */
  count = 0;
  /** PUBACK packets received. */
  acks = 0;
  socket!: net.Socket;
  /** Called after each read, once its packets are counted (the publisher's pacing hangs here). */
  onRead: (() => void) | undefined;
  readonly #waitFor: number;
  #done = false;
  /** Bytes of the current packet's body still to skip. */
  #skip = 0;
  /** The current packet's type while its fixed header is read; -1 between packets. */
  #type = -1;
  #len = 0;
  #mul = 1;

  /** `waitFor`: the packet type that ends the handshake (CONNACK, or SUBACK when subscribing). */
  constructor(waitFor: number) {
    this.#waitFor = waitFor;
  }

  /** Resolves once CONNACK (or SUBACK) came. */
  async ready(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.#done) {
      if (Date.now() > deadline || this.socket.destroyed) throw new Error('MQTT handshake timed out');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Counts the packets whose fixed header ends in b[0, n). */
  scan(b: Buffer, n: number): void {
    let i = 0;
    while (i < n) {
      if (this.#skip > 0) {
        const k = Math.min(this.#skip, n - i);
        this.#skip -= k;
        i += k;
      } else if (this.#type < 0) {
        this.#type = b[i++]! >> 4;
        this.#len = 0;
        this.#mul = 1;
      } else {
        const byte = b[i++]!;
        this.#len += (byte & 0x7f) * this.#mul;
        this.#mul *= 128;
        if ((byte & 0x80) !== 0) continue;
        const type = this.#type;
        if (type === PUBLISH) this.count++;
        else if (type === PUBACK) this.acks++;
        else if (type === this.#waitFor) this.#done = true;
        this.#skip = this.#len;
        this.#type = -1;
      }
    }
  }
}

/** Connects (clean session, no keep-alive) and subscribes to `topic` at QoS 0 if given. */
export async function openMqtt(port: number, clientId: string, topic?: string): Promise<MqttCounter> {
  const c = new MqttCounter(topic === undefined ? CONNACK : SUBACK);
  c.socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(
      {
        port,
        host: '127.0.0.1',
        onread: {
          buffer: shared,
          callback: (n: number, b: Uint8Array) => {
            c.scan(b as Buffer, n);
            c.onRead?.();
            return true;
          },
        },
      },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  c.socket.on('error', () => {});
  c.socket.setNoDelay(true);
  c.socket.write(
    generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0 }),
  );
  if (topic !== undefined)
    c.socket.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }));
  return c;
}
