// What a stranger who never logs in can make the router hold in memory: many connections, each
// stalled on the largest first message it may start, must keep the router's RSS within a bound.
// Unfinished RawSocket frames share limits.preAuthBufferBytes; a WebSocket, whose messages
// uWebSockets.js buffers natively, reserves a whole maxMessageSize from
// limits.preAuthWebSocketBytes between upgrade and WELCOME; an upgrade that does not fit waits
// for a share. The router is the real process; the clients are bare sockets sending exactly the
// bytes that make a server buffer: a frame header announcing a big frame, then all of it but one
// octet.

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startRouter } from '../helpers/router-process.ts';
import {
  connect,
  maskedFrame,
  rssBytes,
  startConfiguredRouter,
  waitFor,
  type TcpProbe,
} from '../helpers/raw-client.ts';
import {
  PRE_AUTH_MAX,
  rawSocketOpened,
  UPGRADE_REQUEST,
  openProbe,
  rawSocketFrame,
  stall,
  unreadOctets,
} from './pre-auth-clients.ts';

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
