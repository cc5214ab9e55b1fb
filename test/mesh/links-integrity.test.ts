// Integrity of links without TLS: a tampering relay between two real nodes (flipped octets,
// injected, spliced and replayed batches) must close the link before anything is used.

import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import type { MeshLinksOptions } from '../../src/mesh/links/links.ts';
import { encodeLinkFrame, LinkFrameType } from '../../src/mesh/links/framing.ts';
import { decodeControl, encodeControl, newNonce, type Control } from '../../src/mesh/links/auth.ts';
import { BatchMac, macKey, TAG_SIZE } from '../../src/mesh/links/integrity.ts';
import type { MeshFrame } from '../../src/mesh/routing/frames.ts';
import { cbor } from '../../src/serializers/cbor.ts';
import { linkProxy, type TappedFrame } from '../helpers/link-proxy.ts';
import { refMacKey, refTag } from './links-fake-peer.ts';
import {
  call,
  client,
  delay,
  HOST,
  linkNode,
  linkPeers,
  logged,
  lsa,
  register,
  routerNode,
  until,
  type LinkNode,
} from './links-harness.ts';
import { meshFrames } from '../helpers/mesh-frames.ts';

const hasText = (text: string) => (f: TappedFrame) => f.type === LinkFrameType.MESH && f.payload.includes(text);

/** A security record no member wrote: an administrator for whoever sent it. */
const FORGED_RECORD = {
  t: 'repl-push',
  records: [
    {
      key: 'user|wampmesh.admin|mallory',
      hlc: '999999999999999.000000',
      node: 'A',
      deleted: false,
      value: { authid: 'mallory', groups: ['admin'], role: 'admin' },
    },
  ],
} as unknown as MeshFrame;

/** Two nodes, `<name>-a` dialing `<name>-b` through a proxy; one frame has crossed untouched. */
async function proxiedPair(t: ExecutionContext, name: string, options: Partial<MeshLinksOptions> = {}) {
  const a = await linkNode(t, `${name}-a`, options);
  const b = await linkNode(t, `${name}-b`, options);
  const proxy = await linkProxy(t, b.port);
  a.links.setPeerAddress(b.id, { host: HOST, port: proxy.port });
  a.links.connect(b.id);
  await until(
    () => a.rec.count('up', b.id) === 1 && b.rec.count('up', a.id) === 1,
    3000,
    `${name}: link through the proxy`,
  );
  t.is(a.links.send(b.id, lsa(a.id, { seq: 1, links: ['marker-0001'] })), 'sent');
  await until(() => b.rec.frames(a.id).length === 1, 3000, `${name}: a frame through the proxy`);
  return { a, b, proxy, tap: proxy.conns[0]!.toAcceptor };
}

/** The link a -> b was closed by b for integrity, logged at both ends, and b used nothing more from a. */
async function closedForIntegrity(t: ExecutionContext, a: LinkNode, b: LinkNode, what: string): Promise<void> {
  await until(() => b.rec.count('down', a.id) === 1 && a.rec.count('down', b.id) === 1, 3000, `${what}: link closed`);
  t.true(
    b.logs.some(
      (l) => l.level === 'error' && l.fields.code === 'integrity' && /failed its integrity check/.test(l.msg),
    ),
    `${what}: logged where it was caught`,
  );
  t.true(logged(a.logs, /closed by the peer \(integrity\)/, 'warn'), `${what}: the sender is told why`);
  t.deepEqual(
    b.rec.frames(a.id),
    [lsa(a.id, { seq: 1, links: ['marker-0001'] })],
    `${what}: nothing after the first frame reached the mesh`,
  );
  t.deepEqual(b.links.status().links, []);
}

test('integrity: the tag is HMAC-SHA256 over the sequence number and the frames under 4 KiB, Poly1305 with the sequence number as nonce from there, as documented, computed either way', (t) => {
  const key = randomBytes(32);
  const mac = new BatchMac(key);
  const batches: [number[], Uint8Array[]][] = [
    [[LinkFrameType.CONTROL], [encodeControl({ c: 'use' })]],
    [
      [LinkFrameType.MESH, LinkFrameType.PING, LinkFrameType.PONG],
      [randomBytes(300), randomBytes(8), new Uint8Array(0)],
    ],
    // Larger, then smaller batches than the last, so that what a smaller one leaves of a buffer
    // kept between batches is never read as its own.
    [[LinkFrameType.MESH], [randomBytes(40_000)]],
    [
      [LinkFrameType.MESH, LinkFrameType.MESH],
      [randomBytes(20_000), randomBytes(45_000)],
    ],
    [[LinkFrameType.MESH], [randomBytes(17_000)]],
    [[LinkFrameType.MESH], [randomBytes(300)]],
    [
      [LinkFrameType.MESH, LinkFrameType.MESH],
      [randomBytes(5000), randomBytes(70_000)],
    ],
    // A batch sealed for its size: hundreds of small frames, gathered into chunks, with frames
    // that end a chunk exactly, straddle its end, and are hashed in place between them.
    [
      Array.from({ length: 700 }, () => LinkFrameType.MESH),
      Array.from({ length: 700 }, (_, i) =>
        randomBytes(i === 100 ? 4096 : i === 101 ? 4095 : i === 300 ? 16 * 1024 : i === 301 ? 0 : 90 + (i % 7)),
      ),
    ],
    // Either side of where Poly1305 takes over (4 KiB with the frames' headers); an HMAC batch
    // smaller than the one before it in the buffer kept between them.
    [[LinkFrameType.MESH], [randomBytes(4091)]],
    [[LinkFrameType.MESH], [randomBytes(100)]],
    [[LinkFrameType.MESH], [randomBytes(4092)]],
    [
      [LinkFrameType.MESH, LinkFrameType.PING],
      [randomBytes(4084), randomBytes(4)],
    ],
    // Six frames fill the first chunk to its last octet.
    [
      Array.from({ length: 8 }, () => LinkFrameType.MESH),
      [3268, 3268, 3268, 3268, 3268, 20, 100, 70_000].map((n) => randomBytes(n)),
    ],
    // ... and one octet more: the sixth frame goes into the next chunk.
    [
      Array.from({ length: 8 }, () => LinkFrameType.MESH),
      [3268, 3268, 3268, 3268, 3268, 21, 100, 70_000].map((n) => randomBytes(n)),
    ],
  ];
  for (const [seq, [types, payloads]] of batches.entries()) {
    const wire = Buffer.concat(payloads.map((p, i) => encodeLinkFrame(types[i] as LinkFrameType, p)));
    t.deepEqual(mac.next(types, payloads, types.length, wire.length), refTag(key, seq, wire), `batch ${seq}`);
  }
  const dn = newNonce();
  const an = newNonce();
  t.deepEqual(macKey(key, dn, an, 'dialer->acceptor'), refMacKey(key, dn, an, 'dialer->acceptor'));
  t.notDeepEqual(
    macKey(key, dn, an, 'dialer->acceptor'),
    macKey(key, dn, an, 'acceptor->dialer'),
    'a key per direction',
  );
  t.notDeepEqual(
    macKey(key, dn, an, 'dialer->acceptor'),
    macKey(key, newNonce(), an, 'dialer->acceptor'),
    'and per connection',
  );
  const check = new BatchMac(key);
  const wire = encodeLinkFrame(LinkFrameType.PING, Uint8Array.of(1));
  t.false(
    check.verify([LinkFrameType.PING], [Uint8Array.of(1)], 1, 5, refTag(key, 1, wire)),
    'a tag of another sequence number fails',
  );
  t.true(
    check.verify([LinkFrameType.PING], [Uint8Array.of(1)], 1, 5, refTag(key, 1, wire)),
    'the next one is number 1',
  );
});

test('integrity: a flipped octet in a frame closes the link at once; the frame is not used', async (t) => {
  const { a, b, tap } = await proxiedPair(t, 'flip');
  tap.rewrite = (f) => {
    if (!hasText('marker-0002')(f)) return undefined;
    const raw = Buffer.from(f.raw);
    const at = raw.indexOf('marker-0002') + 10;
    raw[at] = raw[at]! ^ 0x01; // "marker-0003": still a valid frame, were it not tagged
    return raw;
  };
  t.is(a.links.send(b.id, lsa(a.id, { seq: 2, links: ['marker-0002'] })), 'sent');
  await closedForIntegrity(t, a, b, 'flipped octet');
  t.true(tap.frames.some(hasText('marker-0002')), 'the frame did pass the proxy');
});

test('integrity: a flipped octet in a batch of 4 KiB or more (tagged with Poly1305) closes the link at once too', async (t) => {
  const { a, b, tap } = await proxiedPair(t, 'flip-poly');
  const padding = Array.from({ length: 400 }, (_, i) => `pad-${String(i).padStart(6, '0')}`);
  tap.rewrite = (f) => {
    if (!hasText('marker-0002')(f)) return undefined;
    t.true(f.raw.length >= 4096, 'a batch that Poly1305 tags');
    const raw = Buffer.from(f.raw);
    const at = raw.indexOf('marker-0002') + 10;
    raw[at] = raw[at]! ^ 0x01;
    return raw;
  };
  t.is(a.links.send(b.id, lsa(a.id, { seq: 2, links: ['marker-0002', ...padding] })), 'sent');
  await closedForIntegrity(t, a, b, 'flipped octet in a large batch');
});

test('integrity: a well-formed frame injected by someone without the keys (a forged admin record) is refused, alone or spliced into a batch', async (t) => {
  const forged = encodeLinkFrame(LinkFrameType.MESH, cbor.encode([FORGED_RECORD]));
  // On its own, with a made-up tag.
  const one = await proxiedPair(t, 'inject');
  one.tap.inject(Buffer.concat([forged, encodeLinkFrame(LinkFrameType.TAG, randomBytes(TAG_SIZE))]));
  await closedForIntegrity(t, one.a, one.b, 'injected frame');
  // In front of a genuine frame, in its batch: that batch's tag fails, and neither is used.
  const two = await proxiedPair(t, 'splice');
  two.tap.rewrite = (f) => (hasText('marker-0002')(f) ? Buffer.concat([forged, f.raw]) : undefined);
  t.is(two.a.links.send(two.b.id, lsa(two.a.id, { seq: 2, links: ['marker-0002'] })), 'sent');
  await closedForIntegrity(t, two.a, two.b, 'spliced frame');
  // Without any tag, it is never used either (the next genuine batch fails instead).
  const three = await proxiedPair(t, 'untagged');
  three.tap.inject(forged);
  await delay(100);
  t.is(three.b.rec.frames(three.a.id).length, 1, 'held, not used, while its tag is missing');
  t.is(three.a.links.send(three.b.id, lsa(three.a.id, { seq: 2, links: ['marker-0002'] })), 'sent');
  await closedForIntegrity(t, three.a, three.b, 'untagged frame');
});

test('integrity: a replayed batch is refused, on the same connection and (with the same frames at the same place) on the next one', async (t) => {
  const { a, b, proxy, tap } = await proxiedPair(t, 'replay', { integrityLogIntervalMs: 0 });
  tap.inject(tap.batchWith(hasText('marker-0001')));
  await closedForIntegrity(t, a, b, 'replayed batch');

  // The dialer's first tagged batch is its "use": the same octets on every connection. The one
  // recorded on the first connection, put in place of the next connection's, is refused there:
  // the keys are fresh per connection.
  const first = proxy.conns[0]!.toAcceptor;
  const authAt = first.frames.findIndex(
    (f) => f.type === LinkFrameType.CONTROL && (decodeControl(f.payload) as Control).c === 'auth',
  );
  const recorded = first.frames.slice(
    authAt + 1,
    first.frames.findIndex((f, i) => i > authAt && f.type === LinkFrameType.TAG) + 1,
  );
  t.like(decodeControl(recorded[0]!.payload), { c: 'use' });
  let swapped = false;
  proxy.onConnection = ({ toAcceptor: next }) => {
    next.rewrite = (f) => {
      if (swapped || f.type !== LinkFrameType.TAG) return undefined;
      swapped = true;
      const ours = next.frames.slice(-recorded.length);
      t.deepEqual(
        ours.slice(0, -1).map((x) => x.raw),
        recorded.slice(0, -1).map((x) => x.raw),
        'the same frames',
      );
      return recorded.at(-1)!.raw;
    };
  };
  a.links.connect(b.id);
  // The dialer decides (its id is lower), so it saw the link up before the acceptor refused it.
  await until(() => a.rec.count('down', b.id) === 2, 3000, 'second connection closed');
  t.true(swapped);
  t.is(b.rec.count('up', a.id), 1, 'the second connection never came up at the acceptor');
  t.is(
    b.logs.filter((l) => l.level === 'error' && l.fields.code === 'integrity').length,
    2,
    'both logged (no rate limit here)',
  );
  t.is(
    a.logs.filter((l) => l.level === 'warn' && l.fields.code === 'integrity').length,
    2,
    'the dialer was told both times',
  );
  t.is(b.rec.frames(a.id).length, 1);
});

test('integrity: a replayed call over a router mesh is not invoked again; the link comes back by itself; the log line is rate-limited', async (t) => {
  const a = await routerNode(t, 'A');
  const b = await routerNode(t, 'B');
  const proxy = await linkProxy(t, b.port);
  a.links.setPeerAddress('B', { host: HOST, port: proxy.port });
  a.mesh.peerDiscovered('B');
  await until(() => linkPeers(a).includes('B') && linkPeers(b).includes('A'), 5000, 'A-B link through the proxy');
  const callee = client(b.router);
  register(callee, 'com.test.once');
  const invocations: unknown[][] = [];
  const timer = setInterval(() => {
    for (const m of callee.take()) {
      if (m[0] !== 68) continue;
      invocations.push(m);
      callee.send([70, m[1], {}, ['B', ...((m[4] as unknown[] | undefined) ?? [])]]);
    }
  }, 2);
  t.teardown(() => clearInterval(timer));
  await until(() => a.mesh.status().remoteCallees === 1, 5000, 'registration advertised');
  const caller = client(a.router);
  t.deepEqual(await call(caller, 1, 'com.test.once', ['pay 100']), [50, 1, {}, ['B', 'pay 100']]);
  t.is(invocations.length, 1);

  const tap = proxy.conns[0]!.toAcceptor;
  tap.inject(
    tap.batchWith((f) => f.type === LinkFrameType.MESH && (meshFrames(f.payload) as { t: string }[])[0]!.t === 'call'),
  );
  await until(
    () => proxy.conns.length >= 2 && linkPeers(a).includes('B') && linkPeers(b).includes('A'),
    10_000,
    'the mesh redials',
  );
  await delay(100);
  t.is(invocations.length, 1, 'the replayed call was not invoked');
  t.true(
    b.logs.some((l) => l.level === 'error' && l.fields.code === 'integrity'),
    'logged on B',
  );
  await until(() => a.mesh.status().remoteCallees === 1, 5000, 'registration advertised again');
  t.deepEqual(await call(caller, 2, 'com.test.once', ['pay 5']), [50, 2, {}, ['B', 'pay 5']]);
  t.is(invocations.length, 2);

  // Tampered with again within the log interval: closed again, but logged once.
  const tap2 = proxy.conns.at(-1)!.toAcceptor;
  const count = proxy.conns.length;
  tap2.inject(
    Buffer.concat([
      encodeLinkFrame(LinkFrameType.PING, Buffer.alloc(8)),
      encodeLinkFrame(LinkFrameType.TAG, randomBytes(TAG_SIZE)),
    ]),
  );
  await until(
    () => proxy.conns.length > count && linkPeers(a).includes('B') && linkPeers(b).includes('A'),
    10_000,
    'closed and redialed again',
  );
  t.is(
    b.logs.filter((l) => l.fields.code === 'integrity').length,
    1,
    'one log line per peer per integrityLogIntervalMs',
  );
  t.is(invocations.length, 2);
});
