// Mesh links over real TCP sockets on 127.0.0.1: real Routers and MeshNodes where the mesh
// matters, a recording stand-in where only the link layer is under test, hand-rolled link
// peers for hostile input, a tampering relay between two nodes (test/helpers/link-proxy.ts) for
// link integrity, and child processes for peers that freeze, stall or die.

import { NodeKey } from '../../src/mesh/trust/node-key.ts';
import { MeshTrust } from '../../src/mesh/trust/membership.ts';
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import net from 'node:net';
import { Router } from '../../src/router/router.ts';
import { MeshNode } from '../../src/mesh/routing/node.ts';
import { MeshLinks, type MeshEndpoint, type MeshLinksOptions } from '../../src/mesh/links/links.ts';
import {
  checkPreamble,
  encodeLinkFrame,
  LinkFrameDecoder,
  LinkFrameType,
  PREAMBLE,
  PREAMBLE_SIZE,
} from '../../src/mesh/links/framing.ts';
import {
  clusterIdOf,
  computeProof,
  keyTranscript,
  decodeControl,
  encodeControl,
  HELLO_VERSION,
  linkKey,
  newInstanceId,
  newNonce,
  type Control,
} from '../../src/mesh/links/auth.ts';
import { BatchMac, macKey, TAG_SIZE } from '../../src/mesh/links/integrity.ts';
import type { Lsa, MeshFrame } from '../../src/mesh/routing/frames.ts';
import { encodeEventContent, type EventContent } from '../../src/mesh/routing/event-content.ts';
import type { Logger } from '../../src/log.ts';
import { cbor } from '../../src/serializers/cbor.ts';
import { listenRawSocket } from '../../src/transport/rawsocket-server.ts';
import { linkProxy, type TappedFrame } from '../helpers/link-proxy.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { connect as rawConnect, HandshakeRefused } from '../helpers/raw-client.ts';

const HOST = '127.0.0.1';
const CLUSTER = 'links-test';
const SECRET = 'links-test-secret-0123456789';

// ---- helpers ---------------------------------------------------------------------------------

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, ms: number, what: string, everyMs = 10): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(everyMs);
  }
}

interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

function captureLogger(lines: LogLine[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, msg: msg ?? '', fields: { ...bindings, ...obj } });
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => captureLogger(lines, { ...bindings, ...b }),
  };
}

function logged(lines: LogLine[], pattern: RegExp, level?: string): boolean {
  return lines.some(
    (l) => (level === undefined || l.level === level) && pattern.test(`${l.msg} ${String(l.fields.reason ?? '')}`),
  );
}

type Event = { ev: 'up' | 'down' | 'dialFailed' | 'frame'; peer: string; value?: unknown };

/** The mesh side, recorded: for tests of the link layer alone. */
class Recorder implements MeshEndpoint {
  readonly events: Event[] = [];
  validate: ((value: unknown) => string | undefined) | undefined;
  linkUp(peer: string): void {
    this.events.push({ ev: 'up', peer });
  }
  linkDown(peer: string): void {
    this.events.push({ ev: 'down', peer });
  }
  dialFailed(peer: string): void {
    this.events.push({ ev: 'dialFailed', peer });
  }
  receive(peer: string, value: unknown): string | undefined {
    this.events.push({ ev: 'frame', peer, value });
    return this.validate?.(value);
  }
  count(ev: Event['ev'], peer?: string): number {
    return this.events.filter((e) => e.ev === ev && (peer === undefined || e.peer === peer)).length;
  }
  frames(peer: string): unknown[] {
    return this.events.filter((e) => e.ev === 'frame' && e.peer === peer).map((e) => e.value);
  }
}

interface LinkNode {
  id: string;
  links: MeshLinks;
  port: number;
  logs: LogLine[];
  rec: Recorder;
}

async function linkNode(t: ExecutionContext, id: string, options: Partial<MeshLinksOptions> = {}): Promise<LinkNode> {
  const logs: LogLine[] = [];
  const links = new MeshLinks({
    nodeId: id,
    clusterName: CLUSTER,
    clusterSecret: SECRET,
    listen: { host: HOST, port: 0 },
    logger: captureLogger(logs),
    ...options,
  });
  const rec = new Recorder();
  links.attach(rec);
  const { port } = await links.start();
  t.teardown(() => links.close());
  return { id, links, port, logs, rec };
}

interface RouterNode {
  id: string;
  links: MeshLinks;
  port: number;
  logs: LogLine[];
  router: Router;
  mesh: MeshNode;
}

async function routerNode(
  t: ExecutionContext,
  id: string,
  options: Partial<MeshLinksOptions> = {},
): Promise<RouterNode> {
  const logs: LogLine[] = [];
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const links = new MeshLinks({
    nodeId: id,
    clusterName: CLUSTER,
    clusterSecret: SECRET,
    listen: { host: HOST, port: 0 },
    logger: captureLogger(logs),
    ...options,
  });
  const mesh = new MeshNode({
    id,
    router,
    driver: links,
    config: { dialBackoffMs: 100 },
    trust: links.trust,
    logger: captureLogger(logs),
  });
  links.attach(mesh);
  const { port } = await links.start();
  const ticker = setInterval(() => mesh.tick(), 25);
  t.teardown(async () => {
    clearInterval(ticker);
    await links.close();
  });
  return { id, links, port, logs, router, mesh };
}

const linkPeers = (n: { links: MeshLinks }) => n.links.status().links.map((l) => l.peer);

const roles = { caller: {}, callee: {}, publisher: {}, subscriber: {} };

function client(router: Router): MemoryClient {
  const c = new MemoryClient(router);
  c.join('realm1', { roles });
  return c;
}

function register(c: MemoryClient, procedure: string): void {
  c.send([64, 1, {}, procedure]);
  const reply = c.take().at(-1);
  if (reply?.[0] !== 65) throw new Error(`REGISTER failed: ${JSON.stringify(reply)}`);
}

/** Answers every INVOCATION with [tag, ...args]. */
function serve(t: ExecutionContext, callee: MemoryClient, tag: string): void {
  const timer = setInterval(() => {
    for (const m of callee.take())
      if (m[0] === 68) callee.send([70, m[1], {}, [tag, ...((m[4] as unknown[] | undefined) ?? [])]]);
  }, 2);
  t.teardown(() => clearInterval(timer));
}

async function call(caller: MemoryClient, request: number, procedure: string, args: unknown[]): Promise<unknown[]> {
  caller.send([48, request, {}, procedure, args]);
  let answer: unknown[] | undefined;
  await until(
    () =>
      (answer = caller.received.find((m) => (m[0] === 50 && m[1] === request) || (m[0] === 8 && m[2] === request))) !==
      undefined,
    5000,
    `answer to call ${request}`,
  );
  return answer!;
}

function lsa(origin: string, extra: Partial<Lsa> = {}): Lsa {
  return { t: 'lsa', origin, epoch: 1, seq: 1, links: [], realms: {}, ...extra };
}

// ---- a hand-rolled link peer, for input a real node never sends --------------------------------

// The integrity tags, written from the description in links/integrity.ts with createHmac (not
// with the module's own code), so the tests also check that the wire format is as documented.
function refMacKey(key: Uint8Array, dialerNonce: Uint8Array, acceptorNonce: Uint8Array, direction: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', key, Buffer.concat([dialerNonce, acceptorNonce]), `wampmesh-link/2 mac ${direction}`, 32),
  );
}

function refTag(key: Uint8Array, seq: number, frames: Uint8Array): Buffer {
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(BigInt(seq));
  return createHmac('sha256', key).update(n).update(frames).digest().subarray(0, TAG_SIZE);
}

interface FakePeer {
  readonly socket: net.Socket;
  readonly controls: Control[];
  readonly meshPayloads: Uint8Array[];
  /** Tagged batches from the node: how many tags checked out, and how many did not. */
  readonly tags: { ok: number; bad: number };
  /** Resolves true when the node said "use", false if it closed first. */
  readonly up: Promise<boolean>;
  readonly closed: Promise<void>;
  frame(type: number, payload: Uint8Array): void;
  /** Encoded link frames, sent as one batch with its TAG (as a member sends them). */
  send(frames: Uint8Array): void;
}

/**
 * Dials a node and runs the dialer's side of the handshake by hand. The fake's id sorts after
 * the node's, so the node decides and says "use". `afterAuth` goes out right behind our proof
 * (tagged, as a member's frames would be).
 */
function fakeDial(
  port: number,
  options: {
    node: string;
    secret?: string;
    cluster?: string;
    afterAuth?: Uint8Array;
    version?: number;
    nodeKey?: NodeKey;
    /** The key the hello names (default: nodeKey's): another's, to impersonate it. */
    helloKey?: Uint8Array;
  },
): FakePeer {
  const key = linkKey(options.secret ?? SECRET);
  const nodeKey = options.nodeKey ?? NodeKey.generate();
  const socket = net.connect({ host: HOST, port });
  const controls: Control[] = [];
  const meshPayloads: Uint8Array[] = [];
  const tags = { ok: 0, bad: 0 };
  const nonce = newNonce();
  const hello = encodeControl({
    c: 'hello',
    v: options.version ?? HELLO_VERSION,
    node: options.node,
    cluster: clusterIdOf(options.cluster ?? CLUSTER),
    nonce,
    inst: newInstanceId(),
    max: 1 << 20,
    key: options.helloKey ?? nodeKey.publicKey,
  });
  let theirHello: Uint8Array | undefined;
  let keys: { send: Buffer; receive: Buffer } | undefined;
  let sendSeq = 0;
  let receiveSeq = 0;
  let tagging = false; // our frames, after our proof
  let tagged = false; // theirs, after their proof
  let batch: Buffer[] = [];
  let preamble = Buffer.alloc(0);
  const decoder = new LinkFrameDecoder(1 << 24);
  let resolveUp: (v: boolean) => void = () => undefined;
  const up = new Promise<boolean>((resolve) => {
    resolveUp = resolve;
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      resolveUp(false);
      resolve();
    }),
  );
  const send = (frames: Uint8Array) => {
    if (!socket.writable) return;
    socket.write(
      tagging
        ? Buffer.concat([frames, encodeLinkFrame(LinkFrameType.TAG, refTag(keys!.send, sendSeq++, frames))])
        : frames,
    );
  };
  const frame = (type: number, payload: Uint8Array) => send(encodeLinkFrame(type as LinkFrameType, payload));
  socket.once('connect', () => {
    socket.write(PREAMBLE);
    frame(LinkFrameType.CONTROL, hello);
  });
  socket.on('data', (chunk: Buffer) => {
    let rest: Uint8Array = chunk;
    if (preamble.length < PREAMBLE_SIZE) {
      const n = Math.min(PREAMBLE_SIZE - preamble.length, chunk.length);
      preamble = Buffer.concat([preamble, chunk.subarray(0, n)]);
      rest = chunk.subarray(n);
      if (preamble.length < PREAMBLE_SIZE) return;
      if (checkPreamble(preamble).kind !== 'ok') throw new Error('bad preamble from node');
    }
    decoder.feed(rest, (type, payload) => {
      if (tagged) {
        if (type !== LinkFrameType.TAG) {
          batch.push(Buffer.from(encodeLinkFrame(type, payload)));
        } else {
          const good = refTag(keys!.receive, receiveSeq++, Buffer.concat(batch)).equals(payload);
          if (good) tags.ok++;
          else tags.bad++;
          batch = [];
        }
      }
      if (type === LinkFrameType.MESH) meshPayloads.push(Uint8Array.from(payload));
      if (type !== LinkFrameType.CONTROL) return true;
      const c = decodeControl(payload);
      if (typeof c === 'string') throw new Error(c);
      controls.push(c);
      if (c.c === 'hello') {
        theirHello = Uint8Array.from(payload);
        keys = {
          send: refMacKey(key, nonce, c.nonce, 'dialer->acceptor'),
          receive: refMacKey(key, nonce, c.nonce, 'acceptor->dialer'),
        };
      }
      if (c.c === 'auth') {
        tagged = true;
        frame(
          LinkFrameType.CONTROL,
          encodeControl({
            c: 'auth',
            proof: computeProof(key, 'dialer', hello, theirHello!, new Uint8Array(0)),
            sig: nodeKey.sign(keyTranscript('dialer', hello, theirHello!, new Uint8Array(0))),
          }),
        );
        tagging = true;
        if (options.afterAuth !== undefined) send(options.afterAuth);
      }
      if (c.c === 'use') resolveUp(true);
      return true;
    });
  });
  return { socket, controls, meshPayloads, tags, up, closed, frame, send };
}

// ---- peers in child processes -----------------------------------------------------------------

const CHILD_SOURCE = `
const { MeshLinks } = await import(process.env.LINKS_URL);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const links = new MeshLinks({
  nodeId: process.env.NODE_ID, clusterName: process.env.CLUSTER, clusterSecret: process.env.SECRET, listen: { host: '127.0.0.1', port: 0 },
});
links.attach({
  linkUp: (peer) => out({ ev: 'up', peer }), linkDown: (peer) => out({ ev: 'down', peer }),
  dialFailed: (peer) => out({ ev: 'dialFailed', peer }), receive: () => undefined,
});
const { port } = await links.start();
out({ ev: 'listening', port });
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
    const cmd = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if (cmd.seed) links.addSeed('127.0.0.1', cmd.seed);
    if (cmd.busyMs) { const end = Date.now() + cmd.busyMs; while (Date.now() < end) {} out({ ev: 'busy-done' }); }
    if (cmd.status) out({ ev: 'status', status: links.status() });
  }
});
process.stdin.on('end', () => process.exit(0));
`;

interface ChildEvent {
  ev: string;
  peer?: string;
  port?: number;
  status?: ReturnType<MeshLinks['status']>;
}

class ChildPeer {
  readonly proc: ChildProcess;
  readonly events: ChildEvent[] = [];
  #buf = '';

  constructor(t: ExecutionContext, nodeId: string) {
    this.proc = spawn(process.execPath, ['--input-type=module', '-e', CHILD_SOURCE], {
      env: {
        ...process.env,
        LINKS_URL: new URL('../../src/mesh/links/links.ts', import.meta.url).href,
        NODE_ID: nodeId,
        CLUSTER,
        SECRET,
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => {
      this.#buf += chunk;
      for (let i = this.#buf.indexOf('\n'); i >= 0; i = this.#buf.indexOf('\n')) {
        this.events.push(JSON.parse(this.#buf.slice(0, i)) as ChildEvent);
        this.#buf = this.#buf.slice(i + 1);
      }
    });
    t.teardown(() => {
      this.proc.kill('SIGKILL');
    });
  }

  send(command: object): void {
    this.proc.stdin!.write(`${JSON.stringify(command)}\n`);
  }
  has(ev: string): boolean {
    return this.events.some((e) => e.ev === ev);
  }

  async status(): Promise<ReturnType<MeshLinks['status']>> {
    const before = this.events.length;
    this.send({ status: true });
    await until(() => this.events.slice(before).some((e) => e.ev === 'status'), 5000, 'child status');
    return this.events.slice(before).find((e) => e.ev === 'status')!.status!;
  }
}

/** A child node linked to `parent` (the child dials it as a seed). */
async function linkedChild(t: ExecutionContext, parent: LinkNode, childId: string): Promise<ChildPeer> {
  const child = new ChildPeer(t, childId);
  await until(() => child.has('listening'), 10_000, 'child listening');
  child.send({ seed: parent.port });
  await until(
    () => parent.rec.count('up', childId) === 1 && child.events.some((e) => e.ev === 'up'),
    5000,
    'child link up',
  );
  return child;
}

// ---- tests ---------------------------------------------------------------------------------------

test('two nodes link up and carry a call from a client on A to a callee on B, and an event back; status reports the link', async (t) => {
  const a = await routerNode(t, 'A');
  const b = await routerNode(t, 'B');
  a.links.setPeerAddress('B', { host: HOST, port: b.port });
  a.mesh.peerDiscovered('B');
  await until(() => linkPeers(a).includes('B') && linkPeers(b).includes('A'), 5000, 'A-B link');

  const callee = client(b.router);
  register(callee, 'com.test.echo');
  serve(t, callee, 'B');
  const subscriber = client(a.router);
  subscriber.send([32, 1, {}, 'com.test.news']);
  await until(
    () => a.mesh.status().remoteCallees === 1 && b.mesh.lsdb.get('A')?.realms.realm1?.subscriptions.length === 1,
    5000,
    'advertisements',
  );

  const caller = client(a.router);
  t.deepEqual(await call(caller, 7, 'com.test.echo', ['hi', 2 ** 53]), [50, 7, {}, ['B', 'hi', 2 ** 53]]);
  const publisher = client(b.router);
  publisher.send([16, 1, {}, 'com.test.news', ['from B']]);
  await until(() => subscriber.received.some((m) => m[0] === 36), 5000, 'event on A');
  t.deepEqual(subscriber.received.find((m) => m[0] === 36)?.[4], ['from B']);

  await until(() => a.links.status().links[0]?.rttMs !== undefined, 3000, 'a heartbeat round trip');
  const [la] = a.links.status().links;
  const [lb] = b.links.status().links;
  t.like(la, { peer: 'B', address: `${HOST}:${b.port}`, direction: 'out', tls: false });
  t.like(lb, { peer: 'A', direction: 'in' });
  t.true(la!.rttMs! >= 0 && la!.rttMs! < 1000);
  t.true(la!.bytesOut > 0 && la!.bytesIn > 0 && la!.uptimeMs >= 0);
  t.true(logged(a.logs, /mesh link up/, 'info'));
});

test('frames survive the wire exactly: binary, 2^53 integers, a 1 MiB payload, in order', async (t) => {
  const a = await linkNode(t, 'A');
  const b = await linkNode(t, 'B');
  a.links.setPeerAddress('B', { host: HOST, port: b.port });
  a.links.connect('B');
  await until(() => b.rec.count('up', 'A') === 1 && a.rec.count('up', 'B') === 1, 3000, 'link');
  const bytes = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
  const sent: MeshFrame[] = [
    lsa('A', { seq: 1 }),
    {
      t: 'event',
      src: 'A',
      ep: 1,
      dsts: ['B'],
      seqs: [1],
      lives: [1],
      ttl: 32,
      ls: 1,
      b: encodeEventContent({
        realm: 'realm1',
        topic: 't',
        publication: 2 ** 53,
        timestamp: 1_700_000_000_000,
        details: {},
        args: [bytes, -(2 ** 40), 1.5],
        retain: false,
      }),
    },
    lsa('A', { seq: 2 }),
  ];
  for (const f of sent) t.is(a.links.send('B', f), 'sent');
  await until(() => b.rec.frames('A').length === 3, 5000, 'three frames');
  const got = b.rec.frames('A') as Record<string, unknown>[];
  t.deepEqual(
    got.map((f) => f.seq ?? f.t),
    [1, 'event', 2],
  );
  // The event's content travels as octets the links carry untouched (2^53 is no valid ID: not checked here).
  const ev = cbor.decode(got[1]!.b as Uint8Array) as EventContent;
  t.is(ev.publication, 2 ** 53);
  const args = ev.args as unknown[];
  t.true(args[0] instanceof Uint8Array);
  t.true(Buffer.from(args[0] as Uint8Array).equals(Buffer.from(bytes)));
  t.deepEqual(args.slice(1), [-(2 ** 40), 1.5]);
  t.is(a.links.send('nobody', lsa('A')), 'failed', 'no link: not sent');
});

test('three nodes in a chain (C knows B only as a static seed): a call from A reaches C through B', async (t) => {
  const a = await routerNode(t, 'A');
  const b = await routerNode(t, 'B');
  const c = await routerNode(t, 'C');
  a.links.setPeerAddress('B', { host: HOST, port: b.port });
  a.mesh.peerDiscovered('B');
  c.links.addSeed(HOST, b.port);
  await until(
    () => a.mesh.lsdb.routes().get('C') === 'B' && c.mesh.lsdb.routes().get('A') === 'B',
    5000,
    'routes A->C via B',
  );
  t.like(c.links.status().seeds[0], { node: 'B', state: 'linked' });

  const callee = client(c.router);
  register(callee, 'com.test.where');
  serve(t, callee, 'C');
  await until(() => a.mesh.status().remoteCallees === 1, 5000, 'registration advertised to A');
  const caller = client(a.router);
  t.deepEqual(await call(caller, 1, 'com.test.where', ['x']), [50, 1, {}, ['C', 'x']]);
  t.deepEqual(linkPeers(a), ['B'], 'A has no address for C: no direct link');
  t.deepEqual(linkPeers(b), ['A', 'C']);
  t.deepEqual(linkPeers(c), ['B']);
});

const BIG = 'x'.repeat(100_000); // over the smallest maxFrameBytes allowed (65536)

/** A callee for oversize tests: answers "big-result" with BIG, "big-error" with an ERROR carrying BIG, anything else with its args. */
function serveBig(t: ExecutionContext, callee: MemoryClient): unknown[][] {
  const invocations: unknown[][] = [];
  const timer = setInterval(() => {
    for (const m of callee.take()) {
      if (m[0] !== 68) continue;
      invocations.push(m);
      const first = (m[4] as unknown[] | undefined)?.[0];
      if (first === 'big-result') callee.send([70, m[1], {}, [BIG]]);
      else if (first === 'big-error') callee.send([8, 68, m[1], {}, 'com.test.error.broken', [BIG]]);
      else callee.send([70, m[1], {}, (m[4] as unknown[] | undefined) ?? []]);
    }
  }, 2);
  t.teardown(() => clearInterval(timer));
  return invocations;
}

async function timedCall(
  caller: MemoryClient,
  request: number,
  procedure: string,
  args: unknown[],
): Promise<{ answer: unknown[]; ms: number }> {
  const started = performance.now();
  const answer = await call(caller, request, procedure, args);
  return { answer, ms: performance.now() - started };
}

const oversizeLines = (logs: LogLine[], t: string) =>
  logs.filter((l) => /exceeds the peer's maximum frame size/.test(l.msg) && l.fields.t === t);

test(
  'maxFrameBytes 64 KiB on both ends: a call, result or error too large for the link ' +
    'is answered at once with wamp.error.payload_size_exceeded; the link stays up',
  async (t) => {
    const a = await routerNode(t, 'A', { maxFrameBytes: 65_536 });
    const b = await routerNode(t, 'B', { maxFrameBytes: 65_536, oversizeLogIntervalMs: 300 });
    a.links.setPeerAddress('B', { host: HOST, port: b.port });
    a.mesh.peerDiscovered('B');
    await until(() => linkPeers(a).includes('B') && linkPeers(b).includes('A'), 5000, 'A-B link');
    const callee = client(b.router);
    register(callee, 'com.test.big');
    const invocations = serveBig(t, callee);
    const subscriber = client(a.router);
    subscriber.send([32, 1, {}, 'com.test.news']);
    await until(
      () => a.mesh.status().remoteCallees === 1 && b.mesh.lsdb.get('A')?.realms.realm1?.subscriptions.length === 1,
      5000,
      'advertisements',
    );
    const caller = client(a.router);

    // Too large for A -> B: the Dealer on A answers before anything is sent.
    const tooBigCall = await timedCall(caller, 1, 'com.test.big', [BIG]);
    t.like(tooBigCall.answer, [8, 48, 1, {}, 'wamp.error.payload_size_exceeded']);
    t.true(tooBigCall.ms < 1000, `answered after ${Math.round(tooBigCall.ms)} ms`);
    // The callee's answers too large for B -> A: B sends a small error back instead.
    for (const [request, what] of [
      [2, 'big-result'],
      [3, 'big-error'],
    ] as const) {
      const { answer, ms } = await timedCall(caller, request, 'com.test.big', [what]);
      t.like(answer, [8, 48, request, {}, 'wamp.error.payload_size_exceeded'], what);
      t.true(ms < 1000, `${what}: answered after ${Math.round(ms)} ms`);
    }
    t.regex(
      String((caller.received.find((m) => m[0] === 8 && m[2] === 3)![5] as string[])[0]),
      /com\.test\.error\.broken/,
      "the callee's error URI is named",
    );
    t.deepEqual(
      invocations.map((m) => (m[4] as unknown[])[0]),
      ['big-result', 'big-error'],
      'the oversize call never reached the callee',
    );
    t.deepEqual(await call(caller, 4, 'com.test.big', ['still fine']), [50, 4, {}, ['still fine']]);
    t.deepEqual(linkPeers(a), ['B'], 'the link stayed up');
    t.is(a.mesh.status().callsInFlight, 0);
    t.is(b.mesh.status().callsInFlight, 0);
    t.is(oversizeLines(a.logs, 'call').length, 1);
    t.is(oversizeLines(a.logs, 'call')[0]!.level, 'warn');
    t.deepEqual([oversizeLines(b.logs, 'result').length, oversizeLines(b.logs, 'error').length], [1, 1]);

    // Oversize events reach no one and nobody can be told: logged, but once per interval.
    const publisher = client(b.router);
    for (let i = 0; i < 5; i++) publisher.send([16, 10 + i, {}, 'com.test.news', [BIG]]);
    publisher.send([16, 20, {}, 'com.test.news', ['small']]);
    await until(() => subscriber.received.some((m) => m[0] === 36), 5000, 'the small event');
    t.deepEqual(
      subscriber.received.filter((m) => m[0] === 36).map((m) => m[4]),
      [['small']],
    );
    t.is(oversizeLines(b.logs, 'event').length, 1, 'five oversize events, one log line');
    t.like(oversizeLines(b.logs, 'event')[0], { level: 'error', fields: { peer: 'A', limit: 65_536 } });
    await delay(350);
    publisher.send([16, 21, {}, 'com.test.news', [BIG]]);
    await until(() => oversizeLines(b.logs, 'event').length === 2, 2000, "the next interval's line");
    t.is(oversizeLines(b.logs, 'event')[1]!.fields.alsoDropped, 4, 'the next line counts those not logged');
    t.deepEqual(linkPeers(b), ['A']);
  },
);

test(
  'chain A - B - C with 64 KiB frames at A and C: a hop in the middle ' +
    'answers oversize calls and results with wamp.error.payload_size_exceeded',
  async (t) => {
    const a = await routerNode(t, 'A', { maxFrameBytes: 65_536 });
    const b = await routerNode(t, 'B');
    const c = await routerNode(t, 'C', { maxFrameBytes: 65_536 });
    a.links.setPeerAddress('B', { host: HOST, port: b.port });
    a.mesh.peerDiscovered('B');
    c.links.addSeed(HOST, b.port);
    await until(
      () => a.mesh.lsdb.routes().get('C') === 'B' && c.mesh.lsdb.routes().get('A') === 'B',
      5000,
      'routes A->C via B',
    );
    const callee = client(c.router);
    register(callee, 'com.test.far');
    const invocations = serveBig(t, callee);
    await until(() => a.mesh.status().remoteCallees === 1, 5000, 'registration advertised to A');
    const caller = client(a.router);
    // A -> B carries it (B takes 16 MiB); B -> C cannot: B answers.
    const call1 = await timedCall(caller, 1, 'com.test.far', [BIG]);
    t.like(call1.answer, [8, 48, 1, {}, 'wamp.error.payload_size_exceeded']);
    t.true(call1.ms < 1000, `answered after ${Math.round(call1.ms)} ms`);
    t.regex(String((call1.answer[5] as string[])[0]), /mesh link B -> C/);
    // C -> B carries the result; B -> A cannot: B answers.
    const call2 = await timedCall(caller, 2, 'com.test.far', ['big-result']);
    t.like(call2.answer, [8, 48, 2, {}, 'wamp.error.payload_size_exceeded']);
    t.regex(String((call2.answer[5] as string[])[0]), /mesh link B -> A/);
    t.true(call2.ms < 1000, `answered after ${Math.round(call2.ms)} ms`);
    t.deepEqual(
      invocations.map((m) => (m[4] as unknown[])[0]),
      ['big-result'],
    );
    t.deepEqual(await call(caller, 3, 'com.test.far', ['ok']), [50, 3, {}, ['ok']]);
    t.deepEqual([oversizeLines(b.logs, 'call').length, oversizeLines(b.logs, 'result').length], [1, 1]);
    for (const n of [a, b, c]) t.is(n.mesh.status().callsInFlight, 0, `${n.id} holds no calls`);
  },
);

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
  const a = await routerNode(t, 'A');
  const c = await routerNode(t, 'C');
  a.links.setPeerAddress('C', { host: HOST, port: c.port });
  a.mesh.peerDiscovered('C');
  await until(() => linkPeers(a).includes('C'), 5000, 'A-C link');
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

// ---- integrity of links without TLS: a tampering proxy between two real nodes -------------------

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

test('integrity: the tag is HMAC-SHA256 over the sequence number and the frames, as documented, computed either way', (t) => {
  const key = randomBytes(32);
  const mac = new BatchMac(key);
  const batches: [number[], Uint8Array[]][] = [
    [[LinkFrameType.CONTROL], [encodeControl({ c: 'use' })]],
    [
      [LinkFrameType.MESH, LinkFrameType.PING, LinkFrameType.PONG],
      [randomBytes(300), randomBytes(8), new Uint8Array(0)],
    ],
    [
      [LinkFrameType.MESH, LinkFrameType.MESH],
      [randomBytes(5000), randomBytes(70_000)],
    ], // beyond the one-shot size
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
    tap.batchWith((f) => f.type === LinkFrameType.MESH && (cbor.decode(f.payload) as { t: string }[])[0]!.t === 'call'),
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

test('nodes of link protocol versions 2, 3 (no node keys), 4 (unsigned replicated records), 5 (unsealed events), 6 (seals as frames of their own) and 7 (call tags over the call ID) are refused at the handshake, with both versions in the log', async (t) => {
  const a = await linkNode(t, 'A');
  for (const version of [2, 3, 4, 5, 6, 7]) {
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

test('simultaneous dials both ways leave exactly one link, the same TCP connection at both ends', async (t) => {
  const pairs = await Promise.all(
    Array.from({ length: 4 }, async (_, i) => {
      const a = await linkNode(t, `p${i}-a`, { heartbeatIntervalMs: 50, deadAfterMs: 2000 });
      const b = await linkNode(t, `p${i}-b`, { heartbeatIntervalMs: 50, deadAfterMs: 2000 });
      a.links.setPeerAddress(b.id, { host: HOST, port: b.port });
      b.links.setPeerAddress(a.id, { host: HOST, port: a.port });
      return [a, b] as const;
    }),
  );
  for (const [a, b] of pairs) {
    a.links.connect(b.id);
    b.links.connect(a.id);
  }
  for (const [a, b] of pairs) {
    await until(
      () => [a, b].every((n) => n.links.status().links.length === 1 && n.links.status().handshakes.length === 0),
      3000,
      'one link, no handshakes',
    );
    const [la] = a.links.status().links;
    const [lb] = b.links.status().links;
    t.not(la!.direction, lb!.direction, 'one end dialed, the other accepted: one connection');
    t.is(a.links.send(b.id, lsa(a.id)), 'sent');
    t.is(b.links.send(a.id, lsa(b.id)), 'sent');
  }
  for (const [a, b] of pairs) {
    await until(() => a.rec.frames(b.id).length === 1 && b.rec.frames(a.id).length === 1, 3000, 'frames both ways');
    // Several heartbeats later, still the same single link.
    await until(() => a.links.status().links[0]!.uptimeMs > 300, 3000, 'heartbeats');
    for (const n of [a, b]) {
      t.is(n.links.status().links.length, 1);
      t.is(n.rec.count('down'), 0);
      t.true(n.rec.count('up') >= 1);
    }
  }
  const duplicates = pairs.flat().filter((n) => n.logs.some((l) => l.fields.code === 'duplicate')).length;
  t.true(duplicates > 0, 'the race happened: second connections were closed as duplicates');
});

test('a restarted peer (same id, new process) replaces its stale link at once, whichever id is lower', async (t) => {
  for (const [hubId, peerId] of [
    ['m-hub', 'k-peer'],
    ['a-hub', 'x-peer'],
  ] as const) {
    const hub = await linkNode(t, hubId);
    const old = await linkNode(t, peerId);
    old.links.addSeed(HOST, hub.port);
    await until(() => hub.rec.count('up', peerId) === 1, 3000, 'first link');
    // The "restarted" process: the old one is still there, as a frozen one would be.
    // It keeps its node key (in its data folder): a new key under the same id would be refused.
    const fresh = await linkNode(t, peerId, {
      trust: new MeshTrust({ self: peerId, key: old.links.trust.key, secretJoin: true, now: Date.now }),
    });
    fresh.links.addSeed(HOST, hub.port);
    await until(() => hub.rec.count('up', peerId) === 2, 3000, 'link to the new instance');
    t.deepEqual(
      hub.rec.events.map((e) => e.ev),
      ['up', 'down', 'up'],
      `${hubId}: calls through the old process fail (linkDown), then linkUp`,
    );
    t.is(hub.links.status().links.length, 1);
    await until(() => fresh.links.status().links.length === 1, 3000, 'fresh side up');
    t.is(hub.links.send(peerId, lsa(hubId)), 'sent');
    await until(() => fresh.rec.frames(hubId).length === 1, 3000, 'frame reaches the new instance');
    t.is(old.rec.frames(hubId).length, 0);
  }
});

test('a peer that stops reading: the queue is bounded and the link closes with a log line', async (t) => {
  const a = await linkNode(t, 'A', { maxFrameBytes: 1 << 20, maxQueuedBytes: 4 << 20 });
  const fake = fakeDial(a.port, { node: 'zz-sleepy' });
  t.true(await fake.up);
  await until(() => a.rec.count('up', 'zz-sleepy') === 1, 3000, 'link');
  fake.socket.pause();
  const big = lsa('A', {
    realms: { r: { registrations: [], subscriptions: [{ topic: 'x'.repeat(900_000), match: 'exact' }] } },
  });
  let maxQueued = 0;
  for (let i = 0; i < 500 && a.links.status().links.length > 0; i++) {
    a.links.send('zz-sleepy', big);
    maxQueued = Math.max(maxQueued, a.links.status().links[0]?.queuedBytes ?? 0);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await until(() => a.rec.count('down', 'zz-sleepy') === 1, 3000, 'linkDown');
  t.true(maxQueued <= 4 << 20, `queued at most ${maxQueued}`);
  t.true(logged(a.logs, /not reading/, 'warn'));
});

test('a frozen peer (SIGSTOP) is declared dead within deadAfterMs', async (t) => {
  const p = await linkNode(t, 'P');
  const child = await linkedChild(t, p, 'K');
  await until(() => p.links.status().links[0]?.rttMs !== undefined, 3000, 'heartbeats running');
  child.proc.kill('SIGSTOP');
  const stoppedAt = performance.now();
  await until(() => p.rec.count('down', 'K') === 1, p.links.deadAfterMs + 3000, 'linkDown');
  const elapsed = performance.now() - stoppedAt;
  t.true(
    elapsed >= p.links.deadAfterMs - 1500 && elapsed <= p.links.deadAfterMs + 1500,
    `declared dead after ${Math.round(elapsed)} ms`,
  );
  t.true(p.logs.some((l) => l.fields.code === 'dead' && l.msg === 'mesh link down'));
});

test('a busy peer (event loop blocked for 2 s, deadAfterMs 6 s) is not declared dead, at either end', async (t) => {
  const p = await linkNode(t, 'P');
  const child = await linkedChild(t, p, 'K');
  child.send({ busyMs: 2000 });
  await until(() => child.has('busy-done'), 10_000, 'busy loop done');
  const doneAt = performance.now();
  // Both ends keep the link through a further stretch of heartbeats after the stall.
  await until(
    () => p.rec.count('down') > 0 || child.has('down') || performance.now() - doneAt > 1500,
    5000,
    'post-stall window',
  );
  t.is(p.rec.count('down'), 0);
  t.false(child.has('down'));
  const status = await child.status();
  t.is(status.links.length, 1);
  t.true(status.links[0]!.uptimeMs > 3000);
  t.true(p.links.status().links[0]!.silentMs < 1500);
});

test('a killed peer process is noticed at once (TCP close), not after deadAfterMs', async (t) => {
  const p = await linkNode(t, 'P');
  const child = await linkedChild(t, p, 'K');
  child.proc.kill('SIGKILL');
  const killedAt = performance.now();
  await until(() => p.rec.count('down', 'K') === 1, 3000, 'linkDown');
  const elapsed = performance.now() - killedAt;
  t.true(elapsed < 1000, `noticed after ${Math.round(elapsed)} ms`);
});

// Self-signed, EC P-256, valid until 2126. Used as each node's certificate and as the CA.
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBkjCCATegAwIBAgIUTNzu1m4BUW/rNFqJuNWlnuHnz3MwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSd2FtcG1lc2gtdGVzdC1ub2RlMCAXDTI2MTEyMjE0Mzk0OFoY
DzIxMjYxMDI5MTQzOTQ4WjAdMRswGQYDVQQDDBJ3YW1wbWVzaC10ZXN0LW5vZGUw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQVI+BfRUleFHrPi+rr/ASyY8DDoBMO
hqLuJoMSLOcrvybZLp97zdKa+uJPH6j7pc5cXJ/7lJL2HEG+zb9P8HH4o1MwUTAd
BgNVHQ4EFgQUHIgIuFE4i0JDvQHH/RwI/c2Bg4cwHwYDVR0jBBgwFoAUHIgIuFE4
i0JDvQHH/RwI/c2Bg4cwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEA0ZUuPevfDN9i8CPJYYHTkOtGUBs0RxdB5JEWWRfzVYQCIQDRaXjeEgfmuTj3
TWfuN6rCJiSMpT5zQYZHd284jdeScQ==
-----END CERTIFICATE-----
`;
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgtycdfs0TtUVmQuPT
5BNex3eOX1z3D5rqlPOCgXhk0QihRANCAAQVI+BfRUleFHrPi+rr/ASyY8DDoBMO
hqLuJoMSLOcrvybZLp97zdKa+uJPH6j7pc5cXJ/7lJL2HEG+zb9P8HH4
-----END PRIVATE KEY-----
`;
// Another self-signed certificate, not signed by the CA above.
const OTHER_CERT = `-----BEGIN CERTIFICATE-----
MIIBkDCCATWgAwIBAgIUGhOV/7xZD8/GNY6XmxQshqQOjWowCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRd2FtcG1lc2gtb3RoZXItY2EwIBcNMjYxMTIyMTQzOTUwWhgP
MjEyNjEwMjkxNDM5NTBaMBwxGjAYBgNVBAMMEXdhbXBtZXNoLW90aGVyLWNhMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9Xk8WsGj0hruikl+I0taGO3xBHLIHoAw
JLRL0ST+GgK3KprcGwcVx9eT4lDbrpqwFX2GVI89wXPjt0DKO4o3taNTMFEwHQYD
VR0OBBYEFGzcS2e5jji2k22MHJrIRdV0j2nvMB8GA1UdIwQYMBaAFGzcS2e5jji2
k22MHJrIRdV0j2nvMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIh
AK1hAAF4zs9hdmf0h8X3kliQ4a1Pb7Er2ybNeVdYW9oDAiEA88IfK1eJ1+7pIcWu
qhcg7bLozZmyE2ajS9Z5SK7EkIA=
-----END CERTIFICATE-----
`;
const OTHER_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQglrcYVcANxOxyWYJd
VwwWvpNTjqT20fTLhxwNOpoNh4ChRANCAAT1eTxawaPSGu6KSX4jS1oY7fEEcsge
gDAktEvRJP4aArcqmtwbBxXH15PiUNuumrAVfYZUjz3Bc+O3QMo7ije1
-----END PRIVATE KEY-----
`;
const TLS = { cert: TLS_CERT, key: TLS_KEY, ca: TLS_CERT };

test('TLS: two nodes with mutual TLS carry a call; a wrong secret still fails over TLS', async (t) => {
  const a = await routerNode(t, 'A', { tls: TLS });
  const b = await routerNode(t, 'B', { tls: TLS });
  a.links.setPeerAddress('B', { host: HOST, port: b.port });
  a.mesh.peerDiscovered('B');
  await until(() => linkPeers(a).includes('B') && linkPeers(b).includes('A'), 5000, 'A-B link over TLS');
  t.true(a.links.status().tls && a.links.status().links[0]!.tls);
  const callee = client(b.router);
  register(callee, 'com.test.secure');
  serve(t, callee, 'B');
  await until(() => a.mesh.status().remoteCallees === 1, 5000, 'registration advertised');
  t.deepEqual(await call(client(a.router), 1, 'com.test.secure', ['s']), [50, 1, {}, ['B', 's']]);

  const wrong = await linkNode(t, 'W', { tls: TLS, clusterSecret: 'not-the-cluster-secret-at-all' });
  wrong.links.setPeerAddress('A', { host: HOST, port: a.port });
  wrong.links.connect('A');
  await until(() => wrong.rec.count('dialFailed', 'A') === 1, 3000, 'dial failure');
  t.true(logged(wrong.logs, /authentication failed/, 'warn'));
  t.deepEqual(linkPeers(a), ['B']);
});

test('TLS: a plain-TCP node and a certificate outside the CA are refused, with log lines', async (t) => {
  const secure = await linkNode(t, 'S', { tls: TLS });
  const plain = await linkNode(t, 'P');
  plain.links.setPeerAddress('S', { host: HOST, port: secure.port });
  plain.links.connect('S');
  await until(() => plain.rec.count('dialFailed', 'S') === 1, 3000, 'plain -> TLS dial failure');
  await until(() => logged(secure.logs, /TLS handshake failed/), 3000, 'TLS log line');

  secure.links.setPeerAddress('P', { host: HOST, port: plain.port });
  secure.links.connect('P');
  await until(() => secure.rec.count('dialFailed', 'P') === 1, 3000, 'TLS -> plain dial failure');
  await until(() => logged(plain.logs, /started TLS/), 3000, 'plain log line');

  const outsider = await linkNode(t, 'O', { tls: { cert: OTHER_CERT, key: OTHER_KEY, ca: TLS_CERT } });
  outsider.links.setPeerAddress('S', { host: HOST, port: secure.port });
  outsider.links.connect('S');
  await until(() => outsider.rec.count('dialFailed', 'S') === 1, 3000, 'outsider dial failure');
  await until(() => logged(secure.logs, /certificate not accepted/, 'warn'), 3000, 'log line on the CA-checking node');
  t.true(
    logged(outsider.logs, /closed by the peer \(tls\): certificate not accepted/, 'warn'),
    'the outsider is told why',
  );
  // The other way round: the outsider dialed by a node that checks its certificate.
  secure.links.setPeerAddress('O', { host: HOST, port: outsider.port });
  secure.links.connect('O');
  await until(() => secure.rec.count('dialFailed', 'O') === 1, 3000, 'dial to the outsider fails');
  t.true(logged(secure.logs, /the peer's certificate was not accepted/, 'warn'));
  t.deepEqual(
    secure.rec.events.filter((e) => e.ev !== 'dialFailed'),
    [],
  );
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
