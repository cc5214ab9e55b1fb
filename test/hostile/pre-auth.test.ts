// What a stranger who never logs in can make the router hold. Before WELCOME a client sends
// only HELLO and AUTHENTICATE, so frames over limits.preAuthMaxMessageSize are refused, and
// unfinished ones across all such connections share limits.preAuthBufferBytes (RawSocket).
// The router is the real process; the clients are bare sockets sending exactly the bytes that
// make a server buffer: a frame header announcing a big frame, then all of it but one octet.

import test from 'ava';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { adminSocketPath } from '../../src/cli/admin-client.ts';
import {
  connect,
  maskedFrame,
  openTcp,
  rssBytes,
  probeOf,
  startConfiguredRouter,
  waitFor,
  within,
  type TcpProbe,
} from '../helpers/raw-client.ts';

const PRE_AUTH_MAX = 64 * 1024; // the default of limits.preAuthMaxMessageSize
const STALLERS = Number(process.env.PRE_AUTH_STALLERS ?? 200);
// uWebSockets.js reassembles a message natively up to maxMessageSize before the router sees any
// of it, so on WebSocket that is what a stranger can make the router hold per connection
// (README, "Limits before login"): the documented way to bound it is a smaller maxMessageSize,
// used here. RawSocket refuses anything over the pre-login limit at the frame header.
const WS_MAX_MESSAGE = 128 * 1024;
const CASES = {
  rawsocket: { config: {}, firstFrame: PRE_AUTH_MAX },
  websocket: { config: { limits: { maxMessageSize: WS_MAX_MESSAGE } }, firstFrame: WS_MAX_MESSAGE },
};
// Shows what routers without these limits did: PRE_AUTH_FIRST_FRAME=16777215 PRE_AUTH_STALLERS=20
// with an empty config.
const override = process.env.PRE_AUTH_FIRST_FRAME === undefined ? undefined : Number(process.env.PRE_AUTH_FIRST_FRAME);
const RSS_TARGET = 50 * 1024 * 1024;

/** A RawSocket client (JSON, 16 MiB) that has done the 4-octet handshake, over TCP or a Unix socket. */
async function rawSocketOpened(where: number | string): Promise<TcpProbe> {
  const probe = typeof where === 'number' ? await openTcp(where) : await openUnix(where);
  probe.socket.write(Uint8Array.of(0x7f, 0xf1, 0, 0));
  await waitFor(() => probe.received().length >= 4, 5_000, 'RawSocket handshake reply');
  if (probe.received()[0] !== 0x7f || (probe.received()[1]! & 0x0f) !== 1)
    throw new Error('RawSocket handshake refused');
  return probe;
}

/** A WebSocket client (wamp.2.json) that has done the HTTP upgrade. */
async function webSocketOpened(port: number): Promise<TcpProbe> {
  const probe = await openTcp(port);
  probe.socket.write(
    'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n',
  );
  await waitFor(() => probe.received().includes('\r\n\r\n'), 5_000, 'WebSocket upgrade reply');
  if (!probe.received().toString('latin1').startsWith('HTTP/1.1 101'))
    throw new Error(`upgrade refused: ${probe.received().toString('latin1')}`);
  return probe;
}

async function openUnix(path: string): Promise<TcpProbe> {
  const socket = net.connect({ path });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  return probeOf(socket, chunks);
}

function rawSocketFrame(payload: Uint8Array): Buffer {
  const n = payload.length;
  return Buffer.concat([Uint8Array.of(0, n >>> 16, (n >>> 8) & 0xff, n & 0xff), payload]);
}

const frames = new Map<string, Buffer>();

/** All of a first frame of `size` octets but its last octet: the server must keep the rest. */
function stall(probe: TcpProbe, transport: 'rawsocket' | 'websocket', size: number): void {
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
function unreadOctets(port: number): number {
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

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

for (const transport of ['rawsocket', 'websocket'] as const) {
  const size = override ?? CASES[transport].firstFrame;
  const config = override === undefined ? CASES[transport].config : {};
  test.serial(
    `${transport}: RSS stays within ${mb(RSS_TARGET)} MB of idle with ${STALLERS} connections stalled on the largest first message a stranger can send (${size} octets)`,
    async (t) => {
      t.timeout(180_000);
      const router = await startConfiguredRouter(config);
      const probes: TcpProbe[] = [];
      try {
        // Idle: after one login, so code loaded on first use is not counted.
        const client = await connect({ transport, port: router.rawsocketPort, url: router.wsUrl });
        await client.join();
        await client.destroy();
        const idle = rssBytes(router.pid);
        let peak = idle;
        const port = transport === 'rawsocket' ? router.rawsocketPort : router.wsPort;
        const batch: { probe: TcpProbe; replied: number }[] = [];
        for (let i = 0; i < STALLERS; i++) {
          const probe = transport === 'rawsocket' ? await rawSocketOpened(port) : await webSocketOpened(port);
          batch.push({ probe, replied: probe.received().length });
          probes.push(probe);
          stall(probe, transport, size);
          peak = Math.max(peak, rssBytes(router.pid));
        }
        await waitFor(
          () => {
            peak = Math.max(peak, rssBytes(router.pid));
            return unreadOctets(port) === 0;
          },
          60_000,
          'the router to read every stalled frame',
          100,
        );
        const rss = rssBytes(router.pid);
        // Held: still open, and nothing sent since the handshake (no ABORT, no close frame).
        const held = batch.filter(
          ({ probe, replied }) => !probe.socket.destroyed && probe.received().length === replied,
        ).length;
        t.log(
          `${transport}: ${STALLERS} x ${size} octets, ${held} held: idle ${mb(idle)} MB, stalled ${mb(rss)} MB (+${mb(rss - idle)} MB), peak seen +${mb(peak - idle)} MB`,
        );
        t.is(held, STALLERS, 'the router holds every stalled connection (else the test proves nothing)');
        t.true(rss - idle < RSS_TARGET, `RSS grew by ${mb(rss - idle)} MB`);
      } finally {
        for (const p of probes) p.socket.destroy();
        await router.stop();
      }
    },
  );
}

test.serial(
  'a first frame over the pre-login limit is refused at its header: ABORT on RawSocket, close 1009 on WebSocket',
  async (t) => {
    const router = await startConfiguredRouter({});
    try {
      // TCP, and the Unix socket every router has (the admin CLI's, in the data folder).
      for (const where of [router.rawsocketPort, adminSocketPath(router.dataDir)]) {
        const raw = await rawSocketOpened(where);
        // A header announcing 16 MiB - 1, then 1 MiB of it: refused on the header, nothing buffered.
        raw.socket.write(Buffer.concat([Uint8Array.of(0, 0xff, 0xff, 0xff), Buffer.alloc(1024 * 1024, 0x20)]));
        // The router ends its side at once; the client's own close waits for its unsent octets.
        await within(raw.ended, 5_000, 'the router to end the RawSocket connection');
        const reply = raw.received().subarray(4);
        t.is(reply.readUInt32BE(0), reply.length - 4, 'one RawSocket MESSAGE frame before the close');
        const abort = JSON.parse(reply.subarray(4).toString('utf8')) as unknown[];
        t.is(abort[0], 3);
        t.is(abort[2], 'wamp.error.payload_size_exceeded');
        t.regex(String((abort[1] as { message?: string }).message), /limit before login of 65536/);
      }

      const ws = await webSocketOpened(router.wsPort);
      ws.socket.write(maskedFrame(0x1, Buffer.alloc(PRE_AUTH_MAX + 1, 0x20)));
      await within(ws.closed, 5_000, 'the router to close the WebSocket connection');
      const body = ws.received().subarray(ws.received().indexOf('\r\n\r\n') + 4);
      t.is(body[0], 0x88, 'a close frame');
      t.is(body.readUInt16BE(2), 1009);
    } finally {
      await router.stop();
    }
  },
);

test.serial(
  'unfinished frames of strangers share one budget: past it they are refused, counted and logged once',
  async (t) => {
    const budget = 1024 * 1024;
    const router = await startConfiguredRouter({ logLevel: 'warn', limits: { preAuthBufferBytes: budget } });
    const probes: TcpProbe[] = [];
    try {
      const fit = budget / PRE_AUTH_MAX;
      for (let i = 0; i < fit + 10; i++) {
        const probe = await rawSocketOpened(router.rawsocketPort);
        probes.push(probe);
        stall(probe, 'rawsocket', PRE_AUTH_MAX);
        // One at a time, so which ones fit is deterministic.
        await waitFor(
          () => unreadOctets(router.rawsocketPort) === 0 || probe.socket.destroyed,
          5_000,
          'the router to take the frame',
        );
      }
      await waitFor(() => probes.filter((p) => p.socket.destroyed).length >= 10, 5_000, 'ten refusals');
      t.deepEqual(
        probes.map((p) => p.socket.destroyed),
        [...Array(fit).fill(false), ...Array(10).fill(true)],
      );
      const refused = probes[fit]!.received().subarray(4);
      t.is(JSON.parse(refused.subarray(4).toString('utf8'))[2], 'wamp.error.payload_size_exceeded');
      await waitFor(() => router.stderr().includes('budget spent'), 5_000, 'the log line');
      t.is(router.stderr().split('budget spent').length - 1, 1, 'logged once, not once per refusal');

      // A small HELLO in one piece needs no buffering: logging in still works at a spent budget.
      const client = await connect({ transport: 'rawsocket', port: router.rawsocketPort });
      await client.join();
      await client.destroy();
      // Budget given back when stallers leave: the next one is held again.
      for (const p of probes.slice(0, 2)) p.socket.destroy();
      await waitFor(() => unreadOctets(router.rawsocketPort) === 0, 5_000, 'closes to be read');
      const again = await rawSocketOpened(router.rawsocketPort);
      probes.push(again);
      const before = again.received().length;
      stall(again, 'rawsocket', PRE_AUTH_MAX);
      await waitFor(
        () => unreadOctets(router.rawsocketPort) === 0 || again.socket.destroyed,
        5_000,
        'the router to take the frame',
      );
      t.false(again.socket.destroyed, 'held once the budget was given back');
      t.is(again.received().length, before);
    } finally {
      for (const p of probes) p.socket.destroy();
      await router.stop();
    }
  },
);

test.serial('after WELCOME the full maxMessageSize applies again, on both transports', async (t) => {
  const router = await startConfiguredRouter({});
  try {
    for (const transport of ['rawsocket', 'websocket'] as const) {
      const client = await connect({ transport, port: router.rawsocketPort, url: router.wsUrl });
      await client.join();
      const big = 'x'.repeat(1024 * 1024);
      client.send([16, 1, { acknowledge: true }, 'com.example.big', [big]]);
      const reply = await client.next((m) => m[0] === 17 || m[0] === 8 || m[0] === 3);
      t.is(reply[0], 17, `${transport}: PUBLISHED for a 1 MiB PUBLISH after login`);
      await client.destroy();
    }
  } finally {
    await router.stop();
  }
});
