// The limits a stranger meets before WELCOME: a first frame over limits.preAuthMaxMessageSize is
// refused at its header, unfinished frames share one budget, one address holds at most
// limits.preAuthConnectionsPerAddress WebSocket logins in progress (then 503), and after WELCOME
// the full maxMessageSize applies again. Against the real router process, over bare sockets.

import test from 'ava';
import { adminSocketPath } from '../../src/cli/admin-client.ts';
import { connect, maskedFrame, startConfiguredRouter, waitFor, within, type TcpProbe } from '../helpers/raw-client.ts';
import {
  PRE_AUTH_MAX,
  rawSocketOpened,
  UPGRADE_REQUEST,
  webSocketOpened,
  helloOver,
  openProbe,
  stall,
  unreadOctets,
} from './pre-auth-clients.ts';

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
