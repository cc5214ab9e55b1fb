// What a stranger who never logs in can make the router hold. Before WELCOME a client sends
// only HELLO and AUTHENTICATE, so frames over limits.preAuthMaxMessageSize are refused, and
// unfinished ones across all such connections share limits.preAuthBufferBytes; a WebSocket,
// whose messages uWebSockets.js buffers natively, reserves a whole maxMessageSize from
// limits.preAuthWebSocketBytes between upgrade and WELCOME, at most limits.preAuthConnectionsPerAddress per address; an
// upgrade that does not fit waits for a share, up to handshakeTimeoutMs, then gets 503.
// The router is the real process; the clients are bare sockets sending exactly the bytes that
// make a server buffer: a frame header announcing a big frame, then all of it but one octet.

import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import mqtt from 'mqtt';
import { adminSocketPath } from '../../src/cli/admin-client.ts';
import { startRouter } from '../helpers/router-process.ts';
import {
  connect,
  maskedFrame,
  rssBytes,
  probeOf,
  startConfiguredRouter,
  waitFor,
  within,
  type TcpProbe,
} from '../helpers/raw-client.ts';

const PRE_AUTH_MAX = 64 * 1024; // the default of limits.preAuthMaxMessageSize
const WS_BUDGET = 16 * 1024 * 1024; // the default of limits.preAuthWebSocketBytes
const MAX_MESSAGE = 16 * 1024 * 1024; // the default of limits.maxMessageSize
const STALLERS = Number(process.env.PRE_AUTH_STALLERS ?? 200);
// All stallers come from 127.0.0.1, so the per-address cap is lifted where the budget is tested.
const NO_ADDRESS_CAP = { preAuthConnectionsPerAddress: 1_000_000 };
// Each stalls on the largest first message the router lets it start: on RawSocket the pre-login
// limit (refused at the header above it), on WebSocket maxMessageSize (uWebSockets.js buffers
// up to it natively before the router sees anything). `held` is how many the router keeps.
const WS_CASES = [
  { name: 'default 16 MiB maxMessageSize', limits: NO_ADDRESS_CAP, firstFrame: MAX_MESSAGE },
  // The appliance's WebSocket listener (systemd/config.json).
  { name: '1 MiB maxMessageSize', limits: { ...NO_ADDRESS_CAP, maxMessageSize: 1024 * 1024 }, firstFrame: 1024 * 1024 },
] as const;
const RSS_TARGET = 50 * 1024 * 1024;

/** A RawSocket client (JSON, 16 MiB) that has done the 4-octet handshake, over TCP or a Unix socket. */
async function rawSocketOpened(where: number | string): Promise<TcpProbe> {
  const probe = await openProbe(typeof where === 'number' ? { host: '127.0.0.1', port: where } : { path: where });
  probe.socket.write(Uint8Array.of(0x7f, 0xf1, 0, 0));
  await waitFor(() => probe.received().length >= 4, 5_000, 'RawSocket handshake reply');
  if (probe.received()[0] !== 0x7f || (probe.received()[1]! & 0x0f) !== 1)
    throw new Error('RawSocket handshake refused');
  return probe;
}

const UPGRADE_REQUEST =
  'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n';

/** A WebSocket client (wamp.2.json) that has done the HTTP upgrade. */
async function webSocketOpened(port: number): Promise<TcpProbe> {
  const probe = await openProbe({ host: '127.0.0.1', port });
  probe.socket.write(UPGRADE_REQUEST);
  await waitFor(() => probe.received().includes('\r\n\r\n'), 5_000, 'WebSocket upgrade reply');
  if (!probe.received().toString('latin1').startsWith('HTTP/1.1 101'))
    throw new Error(`upgrade refused: ${probe.received().toString('latin1')}`);
  return probe;
}

/** Router RSS after one login (so code loaded on first use is not counted). */
async function idleRss(
  router: Awaited<ReturnType<typeof startConfiguredRouter>>,
  transport: 'rawsocket' | 'websocket',
) {
  const client = await connect({ transport, port: router.rawsocketPort, url: router.wsUrl });
  await client.join();
  await client.destroy();
  return rssBytes(router.pid);
}

/** Logs in as an anonymous JSON client over `probe` (just upgraded); resolves on WELCOME. */
async function helloOver(probe: TcpProbe): Promise<void> {
  const start = probe.received().length;
  probe.socket.write(maskedFrame(0x1, Buffer.from(JSON.stringify([1, 'realm1', { roles: { caller: {} } }]))));
  await waitFor(() => probe.received().length > start, 5_000, 'a reply to HELLO');
  const reply = probe.received().subarray(start);
  if (!reply.subarray(reply.indexOf('[')).toString('utf8').startsWith('[2,'))
    throw new Error(`no WELCOME: ${reply.toString('latin1')}`);
}

/** A connected socket (TCP from a chosen local address, or Unix) whose replies are collected. */
async function openProbe(to: net.NetConnectOpts): Promise<TcpProbe> {
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
 * STALLERS connections to `port`, all at once, each sending `request` (an upgrade) and then
 * `stallOn` as soon as it is upgraded; added to `probes`. Returns the set of the upgraded ones,
 * which fills as the router lets them in.
 */
async function stallersUpgrading(
  port: number,
  request: string,
  probes: TcpProbe[],
  stallOn: (probe: TcpProbe) => void,
): Promise<Set<TcpProbe>> {
  const upgraded = new Set<TcpProbe>();
  for (let i = 0; i < STALLERS; i++) {
    const probe = await openProbe({ host: '127.0.0.1', port });
    probes.push(probe);
    probe.socket.on('data', () => {
      if (upgraded.has(probe) || !probe.received().toString('latin1').startsWith('HTTP/1.1 101')) return;
      upgraded.add(probe);
      stallOn(probe);
    });
    probe.socket.write(request);
  }
  return upgraded;
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

test.serial(
  `rawsocket: RSS stays within ${mb(RSS_TARGET)} MB of idle with ${STALLERS} connections stalled on the largest first frame a stranger can send (${PRE_AUTH_MAX} octets)`,
  async (t) => {
    t.timeout(180_000);
    const router = await startConfiguredRouter({});
    const probes: TcpProbe[] = [];
    try {
      const idle = await idleRss(router, 'rawsocket');
      let peak = idle;
      const port = router.rawsocketPort;
      for (let i = 0; i < STALLERS; i++) {
        const probe = await rawSocketOpened(port);
        probes.push(probe);
        stall(probe, 'rawsocket', PRE_AUTH_MAX);
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
      // Held: still open, and nothing sent since the handshake (no ABORT).
      const held = probes.filter((p) => !p.socket.destroyed && p.received().length === 4).length;
      t.log(
        `rawsocket: ${STALLERS} x ${PRE_AUTH_MAX} octets, ${held} held: idle ${mb(idle)} MB, stalled ${mb(rss)} MB (+${mb(rss - idle)} MB), peak seen +${mb(peak - idle)} MB`,
      );
      t.is(held, STALLERS, 'the router holds every stalled connection (else the test proves nothing)');
      t.true(rss - idle < RSS_TARGET, `RSS grew by ${mb(rss - idle)} MB`);
    } finally {
      for (const p of probes) p.socket.destroy();
      await router.stop();
    }
  },
);

for (const c of WS_CASES) {
  const shares = WS_BUDGET / c.firstFrame;
  test.serial(
    `websocket, ${c.name}: RSS stays within ${mb(RSS_TARGET)} MB of idle with ${STALLERS} connections stalled on the largest first message (${c.firstFrame} octets); a legitimate client waits its turn and logs in`,
    async (t) => {
      t.timeout(180_000);
      const router = await startConfiguredRouter({ limits: c.limits });
      const probes: TcpProbe[] = [];
      try {
        const idle = await idleRss(router, 'websocket');
        let peak = idle;
        const port = router.wsPort;
        // All at once: each stalls on its first message as soon as it is upgraded.
        const upgraded = await stallersUpgrading(port, UPGRADE_REQUEST, probes, (probe) =>
          stall(probe, 'websocket', c.firstFrame),
        );
        await waitFor(
          () => {
            peak = Math.max(peak, rssBytes(router.pid));
            return upgraded.size >= shares && unreadOctets(port) === 0;
          },
          60_000,
          'the router to read every stalled message',
          100,
        );
        const rss = rssBytes(router.pid);
        const waiting = probes.filter((p) => p.received().length === 0).length;
        t.log(
          `websocket, ${c.name}: ${STALLERS} x ${c.firstFrame} octets, ${upgraded.size} held, ${waiting} waiting: idle ${mb(idle)} MB, stalled ${mb(rss)} MB (+${mb(rss - idle)} MB), peak seen +${mb(peak - idle)} MB`,
        );
        t.is(upgraded.size, shares, 'as many upgraded as the budget has shares (else the test proves nothing)');
        t.is(waiting, STALLERS - shares, 'the others wait for a share, unanswered');
        t.true(rss - idle < RSS_TARGET, `RSS grew by ${mb(rss - idle)} MB`);

        // RawSocket logins have a budget of their own: a HELLO that arrives in two pieces (and
        // so needs buffering) still gets WELCOME while WebSocket strangers hold theirs.
        const raw = await rawSocketOpened(router.rawsocketPort);
        const hello = rawSocketFrame(Buffer.from(JSON.stringify([1, 'realm1', { roles: { caller: {} } }])));
        raw.socket.write(hello.subarray(0, 10));
        await waitFor(() => unreadOctets(router.rawsocketPort) === 0, 5_000, 'the first piece to be read');
        raw.socket.write(hello.subarray(10));
        await waitFor(() => raw.received().length > 8, 5_000, 'an answer to HELLO');
        t.is(JSON.parse(raw.received().subarray(8).toString('utf8'))[0], 2, 'WELCOME');
        raw.socket.destroy();

        // A legitimate client waits behind them, and gets in once the stallers leave.
        const late = connect({ transport: 'websocket', url: router.wsUrl, timeoutMs: 30_000 });
        let done = false;
        void late.then(() => (done = true)).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 300));
        t.false(done, 'not upgraded while the budget is spent');
        for (const p of probes) p.socket.destroy();
        const client = await late;
        await client.join();
        await client.destroy();
      } finally {
        for (const p of probes) p.socket.destroy();
        await router.stop();
      }
    },
  );
}

test.serial(
  'WebSocket: one address holds at most preAuthConnectionsPerAddress logins in progress; others wait, then get 503 with Retry-After; WELCOME and close give shares back',
  async (t) => {
    const perAddress = 4; // the default
    const router = await startConfiguredRouter({
      logLevel: 'warn',
      limits: { maxMessageSize: 1024 * 1024, handshakeTimeoutMs: 1_000 },
    });
    const probes: TcpProbe[] = [];
    const upgrade = async (from: string) => {
      const probe = await openProbe({ host: '127.0.0.1', port: router.wsPort, localAddress: from });
      probes.push(probe);
      probe.socket.write(UPGRADE_REQUEST);
      return probe;
    };
    const head = (p: TcpProbe) => p.received().toString('latin1').split('\r\n')[0];
    try {
      const first: TcpProbe[] = [];
      for (let i = 0; i < perAddress + 2; i++) first.push(await upgrade('127.0.0.1'));
      await waitFor(() => first.slice(0, perAddress).every((p) => head(p) !== ''), 5_000, 'upgrades');
      t.true(first.slice(0, perAddress).every((p) => head(p) === 'HTTP/1.1 101 Switching Protocols'));
      t.true(
        first.slice(perAddress).every((p) => p.received().length === 0),
        'the others wait',
      );

      // Closing gives a share back: the first waiting upgrade from 127.0.0.1 goes ahead.
      first[0]!.socket.destroy();
      await waitFor(() => head(first[perAddress]!) !== '', 5_000, 'the next in line');
      t.is(head(first[perAddress]!), 'HTTP/1.1 101 Switching Protocols');
      // Another address is not held back by the first one, and logging in frees its share at
      // once: after a WELCOME, perAddress more upgrades from that address are admitted.
      const other = await upgrade('127.0.0.2');
      await waitFor(() => head(other) !== '', 5_000, 'the upgrade from 127.0.0.2');
      t.is(head(other), 'HTTP/1.1 101 Switching Protocols');
      await helloOver(other);
      const more: TcpProbe[] = [];
      for (let i = 0; i < perAddress; i++) more.push(await upgrade('127.0.0.2'));
      await waitFor(() => more.every((p) => head(p) !== ''), 5_000, 'upgrades from 127.0.0.2');
      t.true(more.every((p) => head(p) === 'HTTP/1.1 101 Switching Protocols'));

      // The last one waits out the handshake limit (1 s here) and is refused.
      const last = first[perAddress + 1]!;
      await waitFor(() => head(last) !== '', 5_000, 'the refusal');
      t.is(head(last), 'HTTP/1.1 503 Service Unavailable');
      t.regex(last.received().toString('latin1'), /\r\nRetry-After: 1\r\n.*too many connections are logging in/is);
      await waitFor(() => router.stderr().includes('refusing a connection'), 5_000, 'the log line');
      t.is(router.stderr().split('refusing a connection').length - 1, 1);
    } finally {
      for (const p of probes) p.socket.destroy();
      await router.stop();
    }
  },
);

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

test.serial(
  `mqtt over websocket: RSS stays within ${mb(RSS_TARGET)} MB of idle with ${STALLERS} connections stalled on the largest first message before CONNECT; an MQTT client waits its turn and connects`,
  async (t) => {
    t.timeout(180_000);
    // MQTT's route takes two packets of maxPacketBytes (1 MiB by default) per message.
    const firstFrame = 2 * 1024 * 1024;
    const shares = WS_BUDGET / firstFrame;
    // The listeners come from the file (startConfiguredRouter's --ws would replace them).
    const dir = mkdtempSync(join(tmpdir(), 'wampmesh-mqtt-ws-'));
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        limits: NO_ADDRESS_CAP,
        listeners: {
          websocket: [{ host: '127.0.0.1', port: 0, mqtt: { path: '/mqtt' } }],
          rawsocket: [{ host: '127.0.0.1', port: 0 }],
        },
      }),
    );
    const router = await startRouter({ args: ['--config', file] });
    rmSync(dir, { recursive: true, force: true });
    const probes: TcpProbe[] = [];
    try {
      const idle = await idleRss(router, 'websocket');
      let peak = idle;
      const port = router.wsPort;
      const request = UPGRADE_REQUEST.replace('GET /ws', 'GET /mqtt').replace('wamp.2.json', 'mqtt');
      const frame = maskedFrame(0x2, Buffer.alloc(firstFrame, 0x20));
      const upgraded = await stallersUpgrading(port, request, probes, (probe) =>
        probe.socket.write(frame.subarray(0, frame.length - 1)),
      );
      await waitFor(
        () => {
          peak = Math.max(peak, rssBytes(router.pid));
          return upgraded.size >= shares && unreadOctets(port) === 0;
        },
        60_000,
        'the router to read every stalled message',
        100,
      );
      const rss = rssBytes(router.pid);
      const waiting = probes.filter((p) => p.received().length === 0).length;
      t.log(
        `mqtt over websocket: ${STALLERS} x ${firstFrame} octets, ${upgraded.size} held, ${waiting} waiting: idle ${mb(idle)} MB, stalled ${mb(rss)} MB (+${mb(rss - idle)} MB), peak seen +${mb(peak - idle)} MB`,
      );
      t.is(upgraded.size, shares, 'as many upgraded as the budget has shares');
      t.is(waiting, STALLERS - shares, 'the others wait for a share, unanswered');
      t.true(rss - idle < RSS_TARGET, `RSS grew by ${mb(rss - idle)} MB`);

      // A real MQTT client (npm mqtt over WebSocket) gets in once the stallers leave, and its
      // CONNACK gives its share back: more clients than shares can be connected at once.
      for (const p of probes) p.socket.destroy();
      const clients = [];
      for (let i = 0; i < shares + 2; i++) {
        const client = await mqtt.connectAsync(`ws://127.0.0.1:${port}/mqtt`, {
          protocolVersion: 5,
          reconnectPeriod: 0,
          connectTimeout: 15_000,
        });
        clients.push(client);
      }
      t.is(clients.length, shares + 2);
      for (const c of clients) await c.endAsync();
    } finally {
      for (const p of probes) p.socket.destroy();
      await router.stop();
    }
  },
);
