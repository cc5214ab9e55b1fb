// Bare-socket clients for the pre-login tests (pre-auth-*.test.ts): connections that get as far
// as the handshake or upgrade and no further, a first frame stalled one octet short, and how
// much of what was sent the router has not read yet.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { maskedFrame, probeOf, type TcpProbe, waitFor } from '../helpers/raw-client.ts';

export const PRE_AUTH_MAX = 64 * 1024; // the default of limits.preAuthMaxMessageSize

/** A RawSocket client (JSON, 16 MiB) that has done the 4-octet handshake, over TCP or a Unix socket. */
export async function rawSocketOpened(where: number | string): Promise<TcpProbe> {
  const probe = await openProbe(typeof where === 'number' ? { host: '127.0.0.1', port: where } : { path: where });
  probe.socket.write(Uint8Array.of(0x7f, 0xf1, 0, 0));
  await waitFor(() => probe.received().length >= 4, 5_000, 'RawSocket handshake reply');
  if (probe.received()[0] !== 0x7f || (probe.received()[1]! & 0x0f) !== 1)
    throw new Error('RawSocket handshake refused');
  return probe;
}

export const UPGRADE_REQUEST =
  'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n';

/** A WebSocket client (wamp.2.json) that has done the HTTP upgrade. */
export async function webSocketOpened(port: number): Promise<TcpProbe> {
  const probe = await openProbe({ host: '127.0.0.1', port });
  probe.socket.write(UPGRADE_REQUEST);
  await waitFor(() => probe.received().includes('\r\n\r\n'), 5_000, 'WebSocket upgrade reply');
  if (!probe.received().toString('latin1').startsWith('HTTP/1.1 101'))
    throw new Error(`upgrade refused: ${probe.received().toString('latin1')}`);
  return probe;
}

/** Logs in as an anonymous JSON client over `probe` (just upgraded); resolves on WELCOME. */
export async function helloOver(probe: TcpProbe): Promise<void> {
  const start = probe.received().length;
  probe.socket.write(maskedFrame(0x1, Buffer.from(JSON.stringify([1, 'realm1', { roles: { caller: {} } }]))));
  await waitFor(() => probe.received().length > start, 5_000, 'a reply to HELLO');
  const reply = probe.received().subarray(start);
  if (!reply.subarray(reply.indexOf('[')).toString('utf8').startsWith('[2,'))
    throw new Error(`no WELCOME: ${reply.toString('latin1')}`);
}

/** A connected socket (TCP from a chosen local address, or Unix) whose replies are collected. */
export async function openProbe(to: net.NetConnectOpts): Promise<TcpProbe> {
  const socket = net.connect(to);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  return probeOf(socket, chunks);
}

export function rawSocketFrame(payload: Uint8Array): Buffer {
  const n = payload.length;
  return Buffer.concat([Uint8Array.of(0, n >>> 16, (n >>> 8) & 0xff, n & 0xff), payload]);
}

const frames = new Map<string, Buffer>();

/** All of a first frame of `size` octets but its last octet: the server must keep the rest. */
export function stall(probe: TcpProbe, transport: 'rawsocket' | 'websocket', size: number): void {
  const key = `${transport} ${size}`;
  let frame = frames.get(key);
  if (frame === undefined) {
    const payload = Buffer.alloc(size, 0x20);
    frame = transport === 'rawsocket' ? rawSocketFrame(payload) : maskedFrame(0x1, payload);
    frames.set(key, frame);
  }
  probe.socket.write(frame.subarray(0, frame.length - 1));
}

/**
 * Octets sent to `port` that its process has not read yet (Linux /proc/net/tcp*): the clients'
 * send queues plus the server's receive queues. Zero means the router has read everything.
 */
export function unreadOctets(port: number): number {
  let total = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'latin1').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 5 || f[3] !== '01') continue; // ESTABLISHED only
      const local = parseInt(f[1]!.split(':')[1]!, 16);
      const remote = parseInt(f[2]!.split(':')[1]!, 16);
      const [tx, rx] = f[4]!.split(':').map((h) => parseInt(h, 16));
      if (local === port) total += rx!;
      if (remote === port) total += tx!;
    }
  }
  return total;
}
