// The ceiling of the MQTT benchmark's generator (test/bench/mqtt.ts, MQTT_BROKERS=relay): the
// least a broker can do. CONNECT is answered with CONNACK, SUBSCRIBE with SUBACK, and the bytes
// a client sends after its handshake (pre-encoded PUBLISH packets) are written unchanged to
// every subscriber: one write per subscriber per read (MQTT_RELAY_MODE=batch, the default, as
// a broker that batches a tick's deliveries) or one per PUBLISH (packet, as mosquitto does).
// No topic matching, no parsing beyond fixed headers. Prints {"port": N} once listening.

import net from 'node:net';

const CONNECT = 1;
const PUBLISH = 3;
const SUBSCRIBE = 8;
const CONNACK = Buffer.from([0x20, 2, 0, 0]);
const perPacket = process.env.MQTT_RELAY_MODE === 'packet';
const subscribers = new Set<net.Socket>();

/** Splits complete packets off `b`; returns [packets as [type, start, end], rest offset]. */
function packets(b: Buffer, each: (type: number, start: number, end: number) => void): number {
  let at = 0;
  for (;;) {
    if (b.length - at < 2) return at;
    let len = 0;
    let mul = 1;
    let i = at + 1;
    for (; i < b.length; i++) {
      len += (b[i]! & 0x7f) * mul;
      mul *= 128;
      if ((b[i]! & 0x80) === 0) break;
    }
    if (i >= b.length || b.length < i + 1 + len) return at;
    each(b[at]! >> 4, at, i + 1 + len);
    at = i + 1 + len;
  }
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let rest: Buffer | undefined;
  socket.on('data', (d: Buffer) => {
    const b = rest === undefined ? d : Buffer.concat([rest, d]);
    let from = -1;
    const at = packets(b, (type, start, end) => {
      if (type === CONNECT) socket.write(CONNACK);
      else if (type === SUBSCRIBE) {
        // SUBACK for the packet identifier, QoS 0 granted.
        socket.write(Buffer.from([0x90, 3, b[start + 2]!, b[start + 3]!, 0]));
        subscribers.add(socket);
      } else if (type === PUBLISH) {
        if (perPacket) {
          const p = b.subarray(start, end);
          for (const s of subscribers) s.write(p);
        } else if (from < 0) from = start;
      }
    });
    if (from >= 0) {
      const chunk = b.subarray(from, at);
      for (const s of subscribers) s.write(chunk);
    }
    rest = at === b.length ? undefined : Buffer.from(b.subarray(at));
  });
  socket.on('error', () => {});
  socket.on('close', () => subscribers.delete(socket));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
