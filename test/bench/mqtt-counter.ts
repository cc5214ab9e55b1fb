// A bare MQTT 3.1.1 client for the benchmark generator: CONNECT (and SUBSCRIBE) pre-encoded,
// packets counted by walking fixed headers (PUBLISH, PUBACK) without decoding them.

import net from 'node:net';
import { generate } from 'mqtt-packet';

const PUBLISH = 3;
const PUBACK = 4;
const CONNACK = 2;
const SUBACK = 9;

export class MqttCounter {
  /** PUBLISH packets received. */
  count = 0;
  /** PUBACK packets received. */
  acks = 0;
  readonly socket: net.Socket;
  readonly #waitFor: number;
  #rest: Buffer | undefined;
  #done = false;

  /** `waitFor`: the packet type that ends the handshake (CONNACK, or SUBACK when subscribing). */
  constructor(socket: net.Socket, waitFor: number) {
    this.socket = socket;
    this.#waitFor = waitFor;
    socket.on('data', (d: Buffer) => this.#data(d));
    socket.on('error', () => {});
  }

  /** Resolves once CONNACK (or SUBACK) came. */
  async ready(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.#done) {
      if (Date.now() > deadline || this.socket.destroyed) throw new Error('MQTT handshake timed out');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  #data(d: Buffer): void {
    const b = this.#rest === undefined ? d : Buffer.concat([this.#rest, d]);
    let at = 0;
    for (;;) {
      if (b.length - at < 2) break;
      let len = 0;
      let mul = 1;
      let i = at + 1;
      for (; i < b.length; i++) {
        len += (b[i]! & 0x7f) * mul;
        mul *= 128;
        if ((b[i]! & 0x80) === 0) break;
      }
      if (i >= b.length || b.length < i + 1 + len) break;
      const type = b[at]! >> 4;
      if (type === PUBLISH) this.count++;
      else if (type === PUBACK) this.acks++;
      else if (type === this.#waitFor) this.#done = true;
      at = i + 1 + len;
    }
    this.#rest = at === b.length ? undefined : Buffer.from(b.subarray(at));
  }
}

/** Connects (clean session, no keep-alive) and subscribes to `topic` at QoS 0 if given. */
export async function openMqtt(port: number, clientId: string, topic?: string): Promise<MqttCounter> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  const c = new MqttCounter(socket, topic === undefined ? CONNACK : SUBACK);
  socket.write(
    generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0 }),
  );
  if (topic !== undefined)
    socket.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }));
  return c;
}
