import test from 'ava';
import http from 'node:http';
import type { Peer, PeerAcceptor, PeerHandler } from '../../src/router/peer.ts';
import { json } from '../../src/serializers/index.ts';
import {
  listenWebSocket,
  type WebSocketListener,
  type WebSocketOptions,
} from '../../src/transport/websocket-server.ts';
import { addressFromOctets as formatAddress } from '../../src/net/address.ts';

// ---- helpers ---------------------------------------------------------------------------

async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Attached {
  readonly peer: Peer;
  readonly received: Uint8Array[];
  closedCalls: number;
}

/** Echoes every frame back, unless a test gives it another reaction. Records everything. */
class EchoAcceptor implements PeerAcceptor {
  readonly attached: Attached[] = [];
  onFrame: (peer: Peer, frame: Uint8Array) => void = (peer, frame) => peer.send(frame);

  attach(peer: Peer): PeerHandler {
    const record: Attached = { peer, received: [], closedCalls: 0 };
    this.attached.push(record);
    // An echo core has no login: its peers are welcomed at once, as a session is at WELCOME, so
    // they give back their share of the pre-login budget (one 16 MiB share by default).
    peer.welcomed?.();
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

/** Node's own (undici) WebSocket, with what arrived recorded for polling. */
class Client {
  readonly ws: WebSocket;
  readonly messages: Array<string | ArrayBuffer> = [];
  closeCode: number | null = null;

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', (e) => this.messages.push(e.data as string | ArrayBuffer));
    ws.addEventListener('close', (e) => {
      this.closeCode = e.code;
    });
  }

  /** Resolves once open; rejects if the server refuses the upgrade. */
  static connect(port: number, protocols: string[], path = '/ws'): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocols);
      const client = new Client(ws);
      ws.addEventListener('open', () => resolve(client));
      ws.addEventListener('error', () => reject(new Error('websocket error before open')));
    });
  }

  async next(): Promise<string | ArrayBuffer> {
    await waitFor(() => this.messages.length > 0 || this.closeCode !== null, 'a message');
    const m = this.messages.shift();
    if (m === undefined) throw new Error(`closed (${this.closeCode}) instead of a message`);
    return m;
  }

  async closed(): Promise<number> {
    await waitFor(() => this.closeCode !== null, 'close');
    return this.closeCode ?? -1;
  }
}

/** A bare HTTP upgrade request, to see the status code the server answers with. */
function upgradeStatus(port: number, path: string, protocol?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...(protocol !== undefined ? { 'Sec-WebSocket-Protocol': protocol } : {}),
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? -1);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? -1);
    });
    req.on('error', reject);
    req.end();
  });
}

async function server(
  t: { teardown(fn: () => Promise<void>): void },
  options: WebSocketOptions = {},
  path?: string,
): Promise<{ acceptor: EchoAcceptor; listener: WebSocketListener; port: number }> {
  const acceptor = new EchoAcceptor();
  const listener = await listenWebSocket({ host: '127.0.0.1', port: 0, ...(path ? { path } : {}) }, acceptor, options);
  t.teardown(() => listener.close());
  return { acceptor, listener, port: listener.port };
}

const bytes = (m: string | ArrayBuffer) => (typeof m === 'string' ? m : [...new Uint8Array(m)]);

// ---- negotiation -----------------------------------------------------------------------

test('each WAMP subprotocol negotiates', async (t) => {
  const { acceptor, port } = await server(t);
  t.true(port > 0);
  for (const [protocol, name] of [
    ['wamp.2.json', 'json'],
    ['wamp.2.msgpack', 'msgpack'],
    ['wamp.2.cbor', 'cbor'],
  ] as const) {
    const c = await Client.connect(port, [protocol]);
    t.is(c.ws.protocol, protocol);
    await waitFor(
      () => acceptor.attached.length > 0 && acceptor.last().peer.serializer.name === name,
      `attach ${name}`,
    );
    const { info } = acceptor.last().peer;
    t.deepEqual(info, { type: 'websocket', peer: '127.0.0.1', local: true });
    c.ws.close();
  }
});

test("the client's order decides, unknown names are skipped", async (t) => {
  const { port } = await server(t);
  const cases: Array<[string[], string]> = [
    [['wamp.2.cbor', 'wamp.2.json'], 'wamp.2.cbor'],
    [['wamp.2.msgpack', 'wamp.2.json', 'wamp.2.cbor'], 'wamp.2.msgpack'],
    [['wamp.2.flatbuffers', 'mqtt', 'wamp.2.json'], 'wamp.2.json'],
  ];
  for (const [offer, chosen] of cases) {
    const c = await Client.connect(port, offer);
    t.is(c.ws.protocol, chosen, offer.join(','));
    c.ws.close();
  }
});

test('no acceptable subprotocol: HTTP 400, no WebSocket', async (t) => {
  const { acceptor, port } = await server(t, { serializers: [json] });
  t.is(await upgradeStatus(port, '/ws', 'wamp.2.msgpack, mqtt'), 400);
  t.is(await upgradeStatus(port, '/ws'), 400);
  t.is(await upgradeStatus(port, '/ws', 'wamp.2.json'), 101);
  await t.throwsAsync(Client.connect(port, ['wamp.2.cbor']));
  await waitFor(() => acceptor.attached.length === 1, 'only the 101 one attached');
  t.is(acceptor.attached.length, 1);
});

test('only the configured path upgrades; others get 404', async (t) => {
  const { port } = await server(t, {}, '/wamp');
  t.is(await upgradeStatus(port, '/ws', 'wamp.2.json'), 404);
  t.is(await upgradeStatus(port, '/', 'wamp.2.json'), 404);
  t.is(await upgradeStatus(port, '/wamp/x', 'wamp.2.json'), 404);
  t.is(await upgradeStatus(port, '/wamp', 'wamp.2.json'), 101);
  await t.throwsAsync(Client.connect(port, ['wamp.2.json'], '/ws'));
  const c = await Client.connect(port, ['wamp.2.json'], '/wamp');
  t.is(c.ws.protocol, 'wamp.2.json');
  c.ws.close();
});

// ---- frames ----------------------------------------------------------------------------

test('JSON travels in text frames, MsgPack and CBOR in binary frames', async (t) => {
  const { acceptor, port } = await server(t);
  const j = await Client.connect(port, ['wamp.2.json']);
  j.ws.send('[1,"realm1",{}]');
  t.is(await j.next(), '[1,"realm1",{}]');
  t.is(new TextDecoder().decode(acceptor.last().received[0]), '[1,"realm1",{}]');

  for (const protocol of ['wamp.2.msgpack', 'wamp.2.cbor']) {
    const b = await Client.connect(port, [protocol]);
    b.ws.send(Uint8Array.of(0x93, 0x01, 0xa1, 0x61, 0x80));
    const echoed = await b.next();
    t.true(echoed instanceof ArrayBuffer, protocol);
    t.deepEqual(bytes(echoed), [0x93, 0x01, 0xa1, 0x61, 0x80]);
  }
});

test('the wrong frame type for the serializer closes with 1003', async (t) => {
  const { acceptor, port } = await server(t);
  const j = await Client.connect(port, ['wamp.2.json']);
  j.ws.send(Uint8Array.of(0x5b, 0x5d));
  t.is(await j.closed(), 1003);
  const m = await Client.connect(port, ['wamp.2.msgpack']);
  m.ws.send('[]');
  t.is(await m.closed(), 1003);
  t.true(acceptor.attached.every((a) => a.received.length === 0));
});

test('received frames are copies that survive later messages', async (t) => {
  const { acceptor, port } = await server(t);
  acceptor.onFrame = () => {};
  const c = await Client.connect(port, ['wamp.2.msgpack']);
  for (let i = 0; i < 50; i++) c.ws.send(new Uint8Array(64).fill(i));
  await waitFor(() => acceptor.last().received.length === 50, '50 frames');
  acceptor.last().received.forEach((f, i) => t.true(f.length === 64 && f.every((x) => x === i), `frame ${i}`));
});

test('many sends in one tick arrive in order', async (t) => {
  const { acceptor, port } = await server(t);
  acceptor.onFrame = (peer) => {
    setImmediate(() => {
      // outside any uWS callback: the batched path
      for (let i = 0; i < 500; i++) peer.send(new TextEncoder().encode(`[36,${i}]`));
    });
  };
  const c = await Client.connect(port, ['wamp.2.json']);
  c.ws.send('go');
  await waitFor(() => c.messages.length === 500, '500 messages');
  t.deepEqual(
    c.messages,
    Array.from({ length: 500 }, (_, i) => `[36,${i}]`),
  );
});

test('a message over maxMessageSize closes the connection', async (t) => {
  const { acceptor, port } = await server(t, { maxMessageSize: 1024 });
  const c = await Client.connect(port, ['wamp.2.json']);
  c.ws.send('x'.repeat(1024));
  t.is(((await c.next()) as string).length, 1024);
  c.ws.send('x'.repeat(1025));
  t.not(await c.closed(), 1000);
  await waitFor(() => acceptor.last().closedCalls === 1, 'closed()');
});

// ---- lifecycle -------------------------------------------------------------------------

test('client close: closed() exactly once; the dead peer never throws', async (t) => {
  const { acceptor, port } = await server(t);
  const c = await Client.connect(port, ['wamp.2.json']);
  await waitFor(() => acceptor.attached.length === 1, 'attach');
  c.ws.close(1000);
  const a = acceptor.last();
  await waitFor(() => a.closedCalls > 0, 'closed()');
  t.notThrows(() => a.peer.send(Buffer.from('[1]')));
  t.notThrows(() => a.peer.close());
  t.is(a.peer.bufferedAmount(), 0);
  await new Promise((r) => setTimeout(r, 20));
  t.is(a.closedCalls, 1);
});

test('peer.close() sends queued frames, then closes with 1000; closed() once, not re-entrant', async (t) => {
  const { acceptor, port } = await server(t);
  let closedDuringClose = -1;
  acceptor.onFrame = (peer, f) => {
    peer.send(f);
    peer.close();
    closedDuringClose = acceptor.last().closedCalls;
    peer.close();
    peer.send(f);
  };
  const c = await Client.connect(port, ['wamp.2.json']);
  c.ws.send('[6,{},"wamp.close.normal"]');
  t.is(await c.next(), '[6,{},"wamp.close.normal"]');
  t.is(await c.closed(), 1000);
  t.is(closedDuringClose, 0);
  await waitFor(() => acceptor.last().closedCalls === 1, 'closed()');
  t.is(c.messages.length, 0);
});

test("peer.close('slow_consumer') sends queued frames, then closes with 1008", async (t) => {
  const { acceptor, port } = await server(t);
  acceptor.onFrame = (peer, f) => {
    peer.send(f);
    peer.close('slow_consumer');
  };
  const c = await Client.connect(port, ['wamp.2.json']);
  let reason = '';
  c.ws.addEventListener('close', (e) => {
    reason = e.reason;
  });
  c.ws.send('[6,{},"wamp.close.normal"]');
  t.is(await c.next(), '[6,{},"wamp.close.normal"]');
  t.is(await c.closed(), 1008);
  t.is(reason, 'slow consumer');
  await waitFor(() => acceptor.last().closedCalls === 1, 'closed()');
});

test('bufferedAmount counts frames queued this tick', async (t) => {
  const { acceptor, port } = await server(t);
  let queued = -1;
  acceptor.onFrame = (peer) => {
    for (let i = 0; i < 10; i++) peer.send(new Uint8Array(1000));
    queued = peer.bufferedAmount();
  };
  const c = await Client.connect(port, ['wamp.2.cbor']);
  c.ws.send(Uint8Array.of(1));
  await waitFor(() => c.messages.length === 10, '10 messages');
  t.true(queued >= 10_000);
  t.is(acceptor.last().peer.bufferedAmount(), 0);
});

test('listener close(): clients get 1001, every handler closed() once, port released', async (t) => {
  const acceptor = new EchoAcceptor();
  const listener = await listenWebSocket({ host: '127.0.0.1', port: 0 }, acceptor);
  const clients = await Promise.all([1, 2, 3].map(() => Client.connect(listener.port, ['wamp.2.json'])));
  await waitFor(() => acceptor.attached.length === 3, 'attach');
  await listener.close();
  t.deepEqual(
    acceptor.attached.map((a) => a.closedCalls),
    [1, 1, 1],
  );
  t.deepEqual(await Promise.all(clients.map((c) => c.closed())), [1001, 1001, 1001]);
  await t.throwsAsync(Client.connect(listener.port, ['wamp.2.json']));
  await t.notThrowsAsync(listener.close());
});

test('idleTimeoutSec outside what uWS accepts is rejected before it can abort the process', async (t) => {
  for (const idleTimeoutSec of [1, 7, 961, 2.5]) {
    await t.throwsAsync(listenWebSocket({ port: 0 }, new EchoAcceptor(), { idleTimeoutSec }), {
      instanceOf: RangeError,
    });
  }
  const ok = await listenWebSocket({ host: '127.0.0.1', port: 0 }, new EchoAcceptor(), { idleTimeoutSec: 0 });
  await ok.close();
});

test('remote addresses from uWS', (t) => {
  t.is(formatAddress(Uint8Array.of(127, 0, 0, 1).buffer), '127.0.0.1');
  t.is(formatAddress(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3).buffer), '10.1.2.3');
  t.is(formatAddress(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1).buffer), '::1');
  t.is(
    formatAddress(Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42).buffer),
    '2001:db8::42',
  );
  t.is(formatAddress(new ArrayBuffer(0)), 'unknown');
});
