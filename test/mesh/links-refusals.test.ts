// What a link port refuses, and how clearly: wrong secrets, other clusters, WAMP clients, old
// protocol versions, removed nodes, impostor keys, garbage, and strangers holding resources.

import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import { NodeKey } from '../../src/mesh/trust/node-key.ts';
import { Router } from '../../src/router/router.ts';
import {
  checkPreamble,
  encodeLinkFrame,
  LinkFrameDecoder,
  LinkFrameType,
  PREAMBLE,
  PREAMBLE_SIZE,
} from '../../src/mesh/links/framing.ts';
import { decodeControl, encodeControl, HELLO_VERSION } from '../../src/mesh/links/auth.ts';
import { cbor } from '../../src/serializers/cbor.ts';
import { listenRawSocket } from '../../src/transport/rawsocket-server.ts';
import { connect as rawConnect, HandshakeRefused } from '../helpers/raw-client.ts';
import { meshFrames, numberedMap } from '../helpers/mesh-frames.ts';
import { fakeDial } from './links-fake-peer.ts';
import {
  call,
  client,
  HOST,
  linkNode,
  linkPeers,
  logged,
  lsa,
  register,
  routerNode,
  type RouterNode,
  serve,
  until,
} from './links-harness.ts';

/** Routers A and C, linked. */
async function linkedAC(t: ExecutionContext): Promise<[RouterNode, RouterNode]> {
  const a = await routerNode(t, 'A');
  const c = await routerNode(t, 'C');
  a.links.setPeerAddress('C', { host: HOST, port: c.port });
  a.mesh.peerDiscovered('C');
  await until(() => linkPeers(a).includes('C'), 5000, 'A-C link');
  return [a, c];
}

test('a wrong cluster secret: no link, and nothing sent after the failed proof is delivered', async (t) => {
  const a = await linkNode(t, 'A');
  const b = await linkNode(t, 'B', { clusterSecret: 'not-the-cluster-secret-at-all' });
  b.links.setPeerAddress('A', { host: HOST, port: a.port });
  b.links.connect('A');
  await until(() => b.rec.count('dialFailed', 'A') === 1, 3000, 'dial failure');
  t.deepEqual(a.rec.events, []);
  t.deepEqual(b.rec.events, [{ ev: 'dialFailed', peer: 'A' }]);
  await until(() => logged(a.logs, /authentication failed/, 'warn'), 3000, 'log line on A');
  t.true(logged(b.logs, /authentication failed/, 'warn'));

  // An intruder that pushes a mesh frame right behind its (wrong) proof gets nothing in.
  const intruder = fakeDial(a.port, {
    node: 'zz-intruder',
    secret: 'guessed-secret-guessed-secret',
    afterAuth: encodeLinkFrame(LinkFrameType.MESH, cbor.encode([lsa('zz-intruder')])),
  });
  t.false(await intruder.up);
  await intruder.closed;
  t.deepEqual(a.rec.events, []);
  t.deepEqual(intruder.meshPayloads, [], 'the node sent it no mesh frame');
  t.like(intruder.controls.at(-1), { c: 'close', code: 'auth' });
  t.deepEqual(a.links.status().links, []);
  t.deepEqual(a.links.status().handshakes, []);
});

test('a node of another cluster is refused, with a clear log line on both sides', async (t) => {
  const a = await linkNode(t, 'A');
  const b = await linkNode(t, 'B', { clusterName: 'some-other-cluster' });
  b.links.setPeerAddress('A', { host: HOST, port: a.port });
  b.links.connect('A');
  await until(() => b.rec.count('dialFailed', 'A') === 1, 3000, 'dial failure');
  await until(() => logged(a.logs, /another cluster/, 'warn'), 3000, 'log line on A');
  t.true(logged(b.logs, /another cluster/, 'warn'));
  t.deepEqual(a.rec.events, []);
  t.deepEqual(a.links.status().links, []);
});

test('a WAMP RawSocket client on the link port is refused in its own protocol; a link dial to a RawSocket port fails clearly', async (t) => {
  const a = await linkNode(t, 'A');
  const error = await t.throwsAsync(
    rawConnect({ transport: 'rawsocket', host: HOST, port: a.port, serializer: 'json', timeoutMs: 3000 }),
    { instanceOf: HandshakeRefused },
  );
  t.is((error as HandshakeRefused).code, 1);
  await until(() => logged(a.logs, /WAMP RawSocket client/), 3000, 'log line');

  const listener = await listenRawSocket(
    { host: HOST, port: 0 },
    new Router({ realms: [{ uri: 'realm1', anonymous: true }] }),
  );
  t.teardown(() => listener.close());
  a.links.setPeerAddress('R', { host: HOST, port: listener.port! });
  a.links.connect('R');
  await until(() => a.rec.count('dialFailed', 'R') === 1, 3000, 'dial failure');
  t.true(logged(a.logs, /before answering the link preamble/, 'info'));
});

test('garbage after the handshake closes only that link, with a reason; the other links keep working', async (t) => {
  const [a, c] = await linkedAC(t);
  const callee = client(c.router);
  register(callee, 'com.test.alive');
  serve(t, callee, 'C');
  await until(() => a.mesh.status().remoteCallees === 1, 5000, 'registration advertised');
  const caller = client(a.router);

  const cases: { name: string; bytes: Uint8Array; code: string; why: RegExp }[] = [
    {
      name: 'zz-cbor',
      bytes: encodeLinkFrame(LinkFrameType.MESH, Uint8Array.of(0xff, 0xff, 0x00)),
      code: 'invalid-frame',
      why: /undecodable mesh frame/,
    },
    {
      name: 'zz-shape',
      bytes: encodeLinkFrame(LinkFrameType.MESH, cbor.encode([{ t: 'call', origin: 'zz-shape' }])),
      code: 'invalid-frame',
      why: /call: bad fields/,
    },
    {
      name: 'zz-notarray',
      bytes: encodeLinkFrame(LinkFrameType.MESH, cbor.encode({ t: 'lsa' } as never)),
      code: 'invalid-frame',
      why: /non-empty CBOR array/,
    },
    { name: 'zz-header', bytes: Uint8Array.of(0x09, 0, 0, 1, 0), code: 'protocol', why: /bad frame type octet/ },
    {
      name: 'zz-control',
      bytes: encodeLinkFrame(LinkFrameType.CONTROL, encodeControl({ c: 'use' })),
      code: 'protocol',
      why: /unexpected "use"/,
    },
  ];
  const uptime = () => a.links.status().links.find((l) => l.peer === 'C')!.uptimeMs;
  const before = uptime();
  const fakes = cases.map((k) => ({ k, fake: fakeDial(a.port, { node: k.name }) }));
  for (const { k, fake } of fakes) {
    t.true(await fake.up, `${k.name} linked`);
    await until(() => fake.meshPayloads.length > 0, 3000, `${k.name}: database exchange`);
    fake.send(k.bytes); // tagged, as a member (a buggy one) would send it
  }
  for (const { k, fake } of fakes) {
    await fake.closed;
    t.like(fake.controls.at(-1), { c: 'close', code: k.code }, k.name);
    t.true(logged(a.logs, k.why, 'warn'), `${k.name}: logged`);
    t.true(
      fake.tags.ok > 0 && fake.tags.bad === 0,
      `${k.name}: the node's tags check out with an implementation of the documented format`,
    );
  }
  await until(() => linkPeers(a).join() === 'C', 3000, 'only the A-C link left');
  t.true(uptime() >= before, 'the A-C link was never interrupted');
  t.deepEqual(await call(caller, 1, 'com.test.alive', []), [50, 1, {}, ['C']]);
});

test("a call's frame that is no frame past its header, passed on by a neighbour, is refused to its caller; the link and the envelope's next frame stay", async (t) => {
  const a = await routerNode(t, 'A');
  const fake = fakeDial(a.port, { node: 'zz-relay' });
  t.true(await fake.up, 'linked');
  await until(() => fake.meshPayloads.length > 0, 3000, 'database exchange');
  // Two calls of node X for A, as a relay passes them on: the first, embedded, with octets that
  // are no CBOR after its routing header (a node passing it on cannot tell); the second whole.
  const header = numberedMap({ t: 'call', origin: 'X', dst: 'A', id: 9, realm: 'realm1' });
  // (details, 11, whose value is a reserved head)
  const map = Buffer.concat([Buffer.of(0xa6), header.subarray(1), Buffer.of(11, 0x1c)]);
  const bad = Buffer.concat([Buffer.of(0xd8, 0x18, 0x58, map.length), map]);
  const good = cbor.encode({
    ...{ t: 'call', origin: 'X', dst: 'A', id: 10, realm: 'realm1' },
    procedure: 'p',
    match: 'exact',
    session: 1,
    details: {},
    args: [],
  } as never);
  fake.send(encodeLinkFrame(LinkFrameType.MESH, Buffer.concat([Buffer.of(0x82), bad, good])));
  const answers = () =>
    fake.meshPayloads
      .flatMap((p) => meshFrames(p) as { t: string; id: number; args?: unknown[] }[])
      .filter((f) => f.t === 'error');
  await until(() => answers().length >= 2, 3000, 'both calls answered');
  const [first, second] = [9, 10].map((id) => answers().find((f) => f.id === id));
  t.regex(String(first?.args?.[0]), /invalid call frame refused at A: undecodable call frame/);
  t.regex(String(second?.args?.[0]), /origin-bound identity/, 'the next frame read, and refused for its own reason');
  t.deepEqual(linkPeers(a), ['zz-relay'], 'the link stays up');
  t.is(fake.controls.filter((c) => c.c === 'close').length, 0);
});

test("fields a call's frame does not carry, sent by a member, go no further: the frame passed on is written from its own fields, and the next link stays", async (t) => {
  const [a, c] = await linkedAC(t);
  const fake = fakeDial(a.port, { node: 'zz-member' });
  t.true(await fake.up, 'linked');
  await until(() => fake.meshPayloads.length > 0, 3000, 'database exchange');
  const uptime = () => a.links.status().links.find((l) => l.peer === 'C')!.uptimeMs;
  const before = uptime();
  // A call from the member for C, through A, carrying `raw` (what a node writes as a client's
  // octets: here a reserved head) and `payload` (a node's own undecoded payload); its ID 10 as
  // the float 10.0 (0xf9 0x49 0x00), so that A decodes it whole rather than passing its octets on.
  const frame = {
    t: 'call',
    origin: 'zz-member',
    dst: 'C',
    id: 777_777,
    realm: 'realm1',
    procedure: 'com.test.p',
    match: 'exact',
    session: 1,
    details: {},
    args: ['x'],
    raw: [Uint8Array.of(0x1c)],
    payload: { attach: 1 },
  };
  const map = Buffer.from(cbor.encode([frame] as never));
  const id = map.indexOf(Buffer.concat([Buffer.from(cbor.encode('id' as never)), Buffer.of(0x1a)]));
  const bytes = Buffer.concat([map.subarray(0, id + 3), Buffer.of(0xf9, 0x49, 0x00), map.subarray(id + 8)]);
  t.like((cbor.decode(bytes) as unknown[])[0], { id: 10, raw: [Buffer.of(0x1c)] });
  fake.send(encodeLinkFrame(LinkFrameType.MESH, bytes));
  // C answers it (no origin-bound identity: refused), back through A to the member.
  const answers = () =>
    fake.meshPayloads
      .flatMap((p) => meshFrames(p) as { t: string; id: number; args?: unknown[] }[])
      .filter((f) => f.t === 'error' && f.id === 10);
  await until(() => answers().length > 0, 3000, 'the call answered');
  t.regex(String(answers()[0]!.args?.[0]), /origin-bound identity/);
  t.deepEqual(linkPeers(a).sort(), ['C', 'zz-member'], 'both links up');
  t.true(uptime() >= before, 'the A-C link was never interrupted');
  t.false(logged(c.logs, /invalid frame/, 'warn'), 'C took what A sent');
});

test('nodes of link protocol versions 2, 3 (no node keys), 4 (unsigned replicated records), 5 (unsealed events), 6 (seals as frames of their own), 7 (call tags over the call ID), 8 (bare call frames), 9 (call frames keyed by texts) and 10 (HMAC-SHA256 on every batch) are refused at the handshake, with both versions in the log', async (t) => {
  const a = await linkNode(t, 'A');
  for (const version of [2, 3, 4, 5, 6, 7, 8, 9, 10]) {
    const old = fakeDial(a.port, { node: `zz-old${version}`, version });
    t.false(await old.up);
    await old.closed;
    t.like(old.controls.at(-1), { c: 'close', code: 'version' });
    t.regex(
      (old.controls.at(-1) as { reason: string }).reason,
      new RegExp(`version ${version}; this node speaks ${HELLO_VERSION}`),
    );
    t.true(
      logged(
        a.logs,
        new RegExp(
          `another link protocol version.*peer \\(node zz-old${version}\\) speaks link protocol version ${version}; this node speaks ${HELLO_VERSION}`,
        ),
        'warn',
      ),
    );
  }
  t.deepEqual(a.rec.events, []);
});

test('a removed node: its link closes at once ("removed"), and redialing with the cluster secret is refused', async (t) => {
  const a = await routerNode(t, 'A');
  const b = await routerNode(t, 'B');
  const c = await routerNode(t, 'C');
  b.links.addSeed(HOST, a.port);
  c.links.addSeed(HOST, a.port);
  await until(() => linkPeers(a).includes('B') && linkPeers(a).includes('C'), 5000, 'links to A');
  await until(() => c.mesh.lsdb.routes().has('B'), 5000, 'C routes to B');
  const removedAt = performance.now();
  t.is(typeof a.links.trust.remove('B'), 'object');
  await until(() => !linkPeers(a).includes('B') && !linkPeers(b).includes('A'), 3000, 'the link to B closing');
  t.true(performance.now() - removedAt < 3000);
  await until(() => !c.mesh.lsdb.routes().has('B') && c.mesh.lsdb.get('B') === undefined, 3000, "B's routes gone at C");
  t.deepEqual(c.links.trust.status().removed, ['B']);
  t.true(logged(b.logs, /closed by the peer \(removed\)/), 'B is told why');
  // B's seed keeps dialing A with the secret: every attempt refused with "removed", logged at A.
  await until(() => a.logs.filter((l) => l.fields.code === 'removed').length >= 2, 5000, 'a refused redial');
  t.false(linkPeers(a).includes('B'));
  t.true(logged(a.logs, /was removed from the mesh/));
});

test('a peer whose hello names a key it does not hold is refused at the handshake', async (t) => {
  const a = await linkNode(t, 'A');
  const impostor = fakeDial(a.port, {
    node: 'zz-impostor',
    nodeKey: NodeKey.generate(),
    helloKey: a.links.trust.key.publicKey,
  });
  t.false(await impostor.up);
  await impostor.closed;
  t.like(impostor.controls.at(-1), { c: 'close', code: 'auth' });
  t.true(logged(a.logs, /does not hold the node key its hello names/));
  t.deepEqual(a.rec.events, []);
});

test('before authentication a stranger can make the node buffer at most 4 KiB, and silence times out', async (t) => {
  const a = await linkNode(t, 'A', { handshakeTimeoutMs: 300 });
  const read = (socket: net.Socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    return new Promise<Buffer>((resolve) => socket.once('close', () => resolve(Buffer.concat(chunks))));
  };
  const big = net.connect({ host: HOST, port: a.port }, () =>
    big.write(Buffer.concat([PREAMBLE, Uint8Array.of(LinkFrameType.CONTROL, 0x10, 0, 0)])),
  );
  const bytes = await read(big);
  t.is(checkPreamble(bytes.subarray(0, PREAMBLE_SIZE)).kind, 'ok');
  const controls: unknown[] = [];
  new LinkFrameDecoder(4096).feed(bytes.subarray(PREAMBLE_SIZE), (type, payload) => {
    if (type === LinkFrameType.CONTROL) controls.push(decodeControl(payload));
    return true;
  });
  t.like(controls.at(-1), { c: 'close', code: 'protocol' });
  t.true(logged(a.logs, /exceeds the limit of 4096/, 'warn'));

  const startedAt = performance.now();
  await read(net.connect({ host: HOST, port: a.port }));
  t.true(performance.now() - startedAt < 2000);
  t.true(logged(a.logs, /handshake not completed within 300 ms/));
  t.deepEqual(a.rec.events, []);
});

test('strangers stalled mid-handshake hold at most maxPendingHandshakes x 4 KiB: the link port drops the rest at once', async (t) => {
  const a = await linkNode(t, 'A', { handshakeTimeoutMs: 30_000, maxPendingHandshakes: 8 });
  const stalled: net.Socket[] = [];
  t.teardown(() => {
    for (const s of stalled) s.destroy();
  });
  const open = (): Promise<{ socket: net.Socket; closed: Promise<void> }> =>
    new Promise((resolve) => {
      const socket = net.connect({ host: HOST, port: a.port }, () => {
        // The preamble, then all but one octet of the largest frame allowed before authentication.
        socket.write(Buffer.concat([PREAMBLE, Uint8Array.of(LinkFrameType.CONTROL, 0, 0x10, 0), Buffer.alloc(4095)]));
        resolve({ socket, closed });
      });
      socket.on('error', () => undefined);
      const closed = new Promise<void>((done) => socket.once('close', () => done()));
    });
  const held = [];
  for (let i = 0; i < 8; i++) held.push(await open());
  stalled.push(...held.map((h) => h.socket));
  const extra = await open();
  stalled.push(extra.socket);
  const startedAt = performance.now();
  await extra.closed;
  t.true(performance.now() - startedAt < 2_000, 'the ninth is dropped at once, not at its handshake timeout');
  t.false(
    held.some((h) => h.socket.destroyed),
    'the eight within the cap are still held',
  );
  t.deepEqual(a.rec.events, []);
});
