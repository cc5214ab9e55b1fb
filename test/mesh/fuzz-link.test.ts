// Seeded fuzzing of what another router can send. Links authenticate their peer and (without
// TLS) tag every batch, so a relay in between is caught by integrity (links-integrity.test.ts); what is
// left is what a member router itself sends: a buggy, outdated or compromised one. The promise
// is the same as for clients: bad input ends that link with a reason (MeshNode.receive returns
// one, and MeshLinks closes the connection with it), never a crash, a hang or corrupted state.
//
//  Part 2, bytes: a LinkConnection (over a fake socket) fed a handshake and frames by a peer
//  that knows the cluster secret, mutated before and after authentication (and, after it,
//  correctly tagged, so the mutation reaches the decoders): it never throws, ends with a reason
//  (exactly once), and buffers a bounded amount; the frame decoder alone re-frames any input
//  exactly, whatever the chunking.
//
//  Node A's handling of member routers' frames: fuzz-node.test.ts.
//
// Seeds are fixed; FUZZ_EXTRA_SEEDS=n adds n more (a longer hunt; give ava --timeout=20m). A
// failure names the seed and the step: MESH_FUZZ_SEED=<seed> replays it, MESH_FUZZ_TRACE=1
// prints every frame and message. The regressions at the end are what the fuzz found.

import { NodeKey } from '../../src/mesh/trust/node-key.ts';
import test from 'ava';
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { validateFrame, type MeshFrame } from '../../src/mesh/routing/frames.ts';
import { encodeEventContent } from '../../src/mesh/routing/event-content.ts';
import {
  clusterIdOf,
  computeProof,
  keyTranscript,
  decodeControl,
  encodeControl,
  HELLO_VERSION,
  linkKey,
  newNonce,
  type Control,
  type Hello,
} from '../../src/mesh/links/auth.ts';
import { LinkConnection, type LinkHost } from '../../src/mesh/links/connection.ts';
import {
  encodeLinkFrame,
  frameHeader,
  HANDSHAKE_FRAME_LIMIT,
  HEADER_SIZE,
  LinkFrameDecoder,
  LinkFrameType,
  MAX_FRAME,
  PREAMBLE,
  PREAMBLE_SIZE,
} from '../../src/mesh/links/framing.ts';
import { BatchMac, macKey, SEAL_BYTES } from '../../src/mesh/links/integrity.ts';
import { cbor } from '../../src/serializers/index.ts';
import { deepBytes, exoticBytes, mutateBytes, randomValue, Rng, withSplicedValue } from '../helpers/fuzz-input.ts';
import { EXTRA_SEEDS, show } from '../helpers/fuzz-checks.ts';
import { A, F } from './mesh-fuzz.ts';

// =================================================================================================
// Part 2: the link's bytes (LinkConnection over a fake socket)
// =================================================================================================

const LINK_SEEDS = [0x1b_0001, 0x1b_0002, 0x1b_0003];
const LINK_RUNS = 150;
const CLUSTER = 'fuzz-cluster';
const SECRET = 'fuzz secret';
/** What A accepts once the peer has authenticated (1 MiB: big enough to matter, small enough to fill). */
const LINK_MAX = 1 << 20;
const FRAME_TYPES = [
  LinkFrameType.MESH,
  LinkFrameType.PING,
  LinkFrameType.PONG,
  LinkFrameType.CONTROL,
  LinkFrameType.TAG,
] as const;

/** Just enough of net.Socket for LinkConnection and FrameWriter; what is written is kept. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  writable = true;
  writableLength = 0;
  ended = false;
  readonly written: Buffer[] = [];
  #closed = false;

  write(bytes: Uint8Array): boolean {
    if (!this.writable) return false;
    this.written.push(Buffer.from(bytes));
    return true;
  }

  cork(): void {}
  uncork(): void {}
  setNoDelay(): this {
    return this;
  }
  end(): this {
    if (!this.ended) {
      this.ended = true;
      this.writable = false;
      process.nextTick(() => this.#close());
    }
    return this;
  }
  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.writable = false;
      process.nextTick(() => this.#close());
    }
    return this;
  }
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close', false);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Mesh frames a member sends, for MESH payloads to start from. */
const MESH_SAMPLES: readonly MeshFrame[] = [
  {
    t: 'lsa',
    origin: F,
    epoch: 1,
    seq: 1,
    links: [A],
    realms: {
      realm1: {
        registrations: [
          { procedure: 'com.f.echo', match: 'exact', invoke: 'single', callees: [{ session: 1, features: [] }] },
        ],
        subscriptions: [],
      },
    },
  },
  {
    t: 'call',
    origin: F,
    dst: A,
    id: 1,
    realm: 'realm1',
    procedure: 'com.x',
    match: 'exact',
    session: 1,
    details: {},
    args: [1],
  },
  {
    t: 'event',
    src: F,
    ep: 1,
    dsts: [A],
    seqs: [1],
    lives: [1],
    ttl: 32,
    ls: 1,
    b: encodeEventContent({
      realm: 'realm1',
      topic: 'com.x',
      publication: 1,
      timestamp: 1,
      details: {},
      retain: false,
    }),
  },
  { t: 'repl-digest', digest: 'x' },
];

/** A few value-level mutations anywhere in a tree (a small cousin of MeshFuzz.mutate). */
function mutateTree(rng: Rng, value: unknown): unknown {
  let v: unknown = structuredClone(value);
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const slots: { parent: Record<string | number, unknown>; key: string | number }[] = [];
    const walk = (x: unknown, depth: number): void => {
      if (depth > 4 || typeof x !== 'object' || x === null || ArrayBuffer.isView(x)) return;
      for (const [k, item] of Object.entries(x)) {
        slots.push({ parent: x as Record<string, unknown>, key: Array.isArray(x) ? Number(k) : k });
        walk(item, depth + 1);
      }
    };
    walk(v, 0);
    if (slots.length === 0) return randomValue(rng);
    const slot = rng.pick(slots);
    const r = rng.int(4);
    if (r === 0) delete slot.parent[slot.key];
    else if (r === 1)
      slot.parent[rng.pick(['x', 'c', 'v', 'max', 'nonce', 'proof', 'code', 'reason', 'node'])] = randomValue(rng);
    else slot.parent[slot.key] = randomValue(rng);
    if (rng.chance(0.03)) v = randomValue(rng);
  }
  return v;
}

/** One connection: A accepts, the fuzz dials as F, knows the secret, and misbehaves somewhere. */
class LinkRun {
  readonly rng: Rng;
  readonly label: string;
  readonly socket = new FakeSocket();
  readonly conn: LinkConnection;
  readonly closes: { code: string; reason: string; byPeer: boolean }[] = [];
  readonly key = linkKey(SECRET);
  readonly nonce = newNonce();
  readonly nodeKey = NodeKey.generate();
  readonly hello: Uint8Array;
  /** Every octet fed to A, and where A's limit went up (the end of our proof, if it checked out). */
  fed: Buffer = Buffer.alloc(0);
  authAt = -1;
  notes: string[] = [];
  stage = '';

  constructor(rng: Rng, label: string) {
    this.rng = rng;
    this.label = label;
    this.hello = encodeControl({
      c: 'hello',
      v: HELLO_VERSION,
      node: F,
      cluster: clusterIdOf(CLUSTER),
      nonce: this.nonce,
      inst: 'inst-F',
      max: LINK_MAX,
      key: this.nodeKey.publicKey,
    });
    const host: LinkHost = {
      nodeId: A,
      clusterId: clusterIdOf(CLUSTER),
      instanceId: 'inst-A',
      key: this.key,
      nodeKey: NodeKey.generate(),
      admit: () => undefined,
      maxFrameBytes: LINK_MAX,
      maxQueuedBytes: 8 * LINK_MAX,
      // A's id is the lower: it decides, as MeshLinks does.
      authenticated: (conn) => {
        if (conn.sendControl({ c: 'use' })) conn.markUp();
      },
      used: () => this.notes.push('A was told "use", but A is the one to decide'),
      meshFrames: (conn, frames) => {
        if (!Array.isArray(frames) || frames.length === 0) this.notes.push(`meshFrames got ${show(frames)}`);
        for (const value of frames) {
          if (conn.state !== 'up') return;
          const frame = validateFrame(value);
          if (typeof frame === 'string') conn.close('invalid-frame', `invalid frame: ${frame}`);
        }
      },
      closed: (_conn, code, reason, byPeer) => {
        this.closes.push({ code: String(code), reason, byPeer });
      },
    };
    this.conn = new LinkConnection(host, this.socket as unknown as net.Socket, {
      direction: 'in',
      address: 'fuzz:1',
      handshakeTimeoutMs: 60_000,
    });
  }

  /** Octets to A, in random chunks, as TCP delivers them. */
  feed(bytes: Uint8Array): void {
    this.fed = Buffer.concat([this.fed, bytes]);
    for (let at = 0; at < bytes.length; ) {
      const n = this.rng.chance(0.3) ? 1 + this.rng.int(8) : bytes.length - at;
      try {
        this.socket.emit('data', Buffer.from(bytes.subarray(at, at + n)));
      } catch (error) {
        this.notes.push(`the socket's data handler threw: ${(error as Error).stack ?? String(error)}`);
      }
      at += n;
    }
  }

  /** A's frames so far: its hello and its proof. */
  #fromA(): { hello?: Uint8Array; auth?: Uint8Array } {
    const out = Buffer.concat(this.socket.written);
    const found: { hello?: Uint8Array; auth?: Uint8Array } = {};
    new LinkFrameDecoder(MAX_FRAME).feed(out.subarray(PREAMBLE_SIZE), (type, payload) => {
      if (type !== LinkFrameType.CONTROL) return true;
      const c = decodeControl(payload);
      if (typeof c !== 'string' && c.c === 'hello') found.hello = Uint8Array.from(payload);
      if (typeof c !== 'string' && c.c === 'auth') found.auth = c.proof;
      return true;
    });
    return found;
  }

  /** A frame A may receive after our hello or proof (right, wrong, or not a frame at all). */
  #junkFrame(authenticated: boolean): Uint8Array {
    const rng = this.rng;
    switch (rng.int(authenticated ? 9 : 7)) {
      case 0:
        return encodeLinkFrame(
          LinkFrameType.CONTROL,
          encodeControl(
            mutateTree(rng, {
              c: 'hello',
              v: HELLO_VERSION,
              node: F,
              cluster: clusterIdOf(CLUSTER),
              nonce: this.nonce,
              inst: 'inst-F',
              max: LINK_MAX,
            }) as Control,
          ),
        );
      case 1:
        return encodeLinkFrame(
          LinkFrameType.CONTROL,
          cbor.encode(
            rng.pick<unknown>([
              { c: 'use' },
              { c: 'auth', proof: rng.bytes(32) },
              { c: 'close', code: randomValue(rng), reason: randomValue(rng) },
              { c: 'x' },
              [],
              'hello',
              { c: 'hello' },
            ]) as unknown[],
          ),
        );
      case 2:
        return encodeLinkFrame(LinkFrameType.CONTROL, rng.bytes(rng.int(40)));
      case 3:
        return encodeLinkFrame(
          rng.pick([LinkFrameType.PING, LinkFrameType.PONG]),
          rng.bytes(rng.pick([0, 8, 64, 65, 200])),
        );
      case 4:
        return encodeLinkFrame(LinkFrameType.TAG, rng.bytes(rng.pick([0, 16, 17])));
      case 5: // a header out of range: a type beyond TAG, or a length beyond the limit
        return rng.chance(0.5)
          ? Buffer.concat([Buffer.of(5 + rng.int(251), 0, 0, rng.int(8)), rng.bytes(rng.int(8))])
          : Buffer.concat([
              frameHeader(LinkFrameType.MESH, (authenticated ? LINK_MAX : HANDSHAKE_FRAME_LIMIT) + 1 + rng.int(1000)),
              rng.bytes(rng.int(64)),
            ]);
      case 6: {
        // a MESH payload (too early, before authentication)
        const payload = rng.chance(0.5) ? cbor.encode([rng.pick(MESH_SAMPLES)]) : rng.bytes(rng.int(64));
        return encodeLinkFrame(LinkFrameType.MESH, payload);
      }
      default: {
        // MESH payloads: mutated frames, several frames, not a list, deep, exotic, garbage
        let payload: Uint8Array;
        const k = rng.int(6);
        try {
          if (k === 0) payload = cbor.encode([mutateTree(rng, rng.pick(MESH_SAMPLES))]);
          else if (k === 1)
            payload = cbor.encode(
              Array.from({ length: 1 + rng.int(4) }, () =>
                rng.chance(0.5) ? rng.pick(MESH_SAMPLES) : mutateTree(rng, rng.pick(MESH_SAMPLES)),
              ),
            );
          else if (k === 2) payload = cbor.encode(rng.pick<unknown>([[], {}, 'x', 5, [[]], null]) as unknown[]);
          else if (k === 3)
            payload =
              withSplicedValue(
                rng,
                cbor,
                [rng.pick(MESH_SAMPLES)],
                rng.chance(0.5)
                  ? deepBytes('cbor', rng.pick([1_000, 100_000]), rng.chance(0.5))
                  : exoticBytes(rng, 'cbor'),
              ) ?? rng.bytes(8);
          else if (k === 4)
            payload = mutateBytes(
              rng,
              'cbor',
              cbor.encode([rng.pick(MESH_SAMPLES)]),
              cbor.encode([rng.pick(MESH_SAMPLES)]),
            );
          else payload = rng.bytes(rng.int(100));
        } catch {
          payload = rng.bytes(8);
        }
        return encodeLinkFrame(LinkFrameType.MESH, payload);
      }
    }
  }

  /** Frames as a member sends them after its proof: one batch, then its TAG. */
  #tagged(mac: BatchMac, frames: readonly Uint8Array[]): Buffer {
    const types: number[] = [];
    const payloads: Uint8Array[] = [];
    let bytes = 0;
    for (const f of frames) {
      types.push(f[0]!);
      payloads.push(f.subarray(HEADER_SIZE));
      bytes += f.length;
    }
    return Buffer.concat([
      ...frames,
      encodeLinkFrame(LinkFrameType.TAG, mac.next(types, payloads, frames.length, bytes)),
    ]);
  }

  async run(): Promise<void> {
    const rng = this.rng;
    const stage = rng.int(6);
    const helloFrame = encodeLinkFrame(LinkFrameType.CONTROL, this.hello);
    if (stage === 0) {
      this.stage = 'preamble';
      this.feed(mutateBytes(rng, 'cbor', Buffer.concat([PREAMBLE, helloFrame]), helloFrame));
      return this.#end();
    }
    this.feed(PREAMBLE);
    await tick();
    if (stage === 1) {
      this.stage = 'hello';
      this.feed(rng.chance(0.5) ? this.#junkFrame(false) : mutateBytes(rng, 'cbor', helloFrame, PREAMBLE));
      if (rng.chance(0.5)) this.feed(this.#junkFrame(false));
      return this.#end();
    }
    this.feed(helloFrame);
    await tick();
    const theirs = this.#fromA();
    if (theirs.hello === undefined || theirs.auth === undefined) {
      this.notes.push(
        `A did not answer an honest hello with its own and its proof (state ${this.conn.state}; closes ${show(this.closes)})`,
      );
      return this.#end();
    }
    const theirHello = decodeControl(theirs.hello) as Hello & { c: 'hello' };
    const proof = computeProof(this.key, 'dialer', this.hello, theirs.hello, new Uint8Array(0));
    const sig = this.nodeKey.sign(keyTranscript('dialer', this.hello, theirs.hello, new Uint8Array(0)));
    const proofFrame = encodeLinkFrame(LinkFrameType.CONTROL, encodeControl({ c: 'auth', proof, sig }));
    if (stage === 2) {
      this.stage = 'proof';
      const wrong = rng.int(3);
      if (wrong === 0)
        this.feed(
          encodeLinkFrame(
            LinkFrameType.CONTROL,
            encodeControl({ c: 'auth', proof: mutateBytes(rng, 'cbor', proof, proof), sig }),
          ),
        );
      else if (wrong === 1) this.feed(mutateBytes(rng, 'cbor', proofFrame, helloFrame));
      else this.feed(this.#junkFrame(false));
      return this.#end();
    }
    // Authenticated from here: everything we send is tagged.
    const mac = new BatchMac(macKey(this.key, this.nonce, theirHello.nonce, 'dialer->acceptor'));
    this.feed(proofFrame);
    this.authAt = this.fed.length;
    await tick();
    if (this.conn.state !== 'up')
      this.notes.push(
        `an honest proof did not bring the link up (state ${this.conn.state}; closes ${show(this.closes)})`,
      );
    const batches = Array.from({ length: 1 + rng.int(4) }, () =>
      Array.from({ length: 1 + rng.int(4) }, () => this.#junkFrame(true)),
    );
    if (stage === 5) {
      // The tagged stream altered on the way (what integrity is for): never acted on.
      this.stage = 'tampered';
      const honest = batches.map((b) =>
        b.map(() => encodeLinkFrame(LinkFrameType.MESH, cbor.encode([rng.pick(MESH_SAMPLES)]))),
      );
      const stream = Buffer.concat(honest.map((b) => this.#tagged(mac, b)));
      this.feed(mutateBytes(rng, 'cbor', stream, stream));
    } else {
      // A member's own junk, correctly tagged, so it reaches the decoders.
      this.stage = 'member';
      for (const b of batches) {
        this.feed(this.#tagged(mac, b));
        if (rng.chance(0.3)) await tick();
      }
    }
    return this.#end();
  }

  async #end(): Promise<void> {
    await tick();
    this.#checkBounded();
    const before = this.closes.length;
    if (this.conn.state !== 'closed') this.conn.close('shutdown', 'the fuzz run is over');
    await tick();
    await tick();
    if (this.closes.length !== 1)
      this.notes.push(`closed() was called ${this.closes.length} times: ${show(this.closes)}`);
    for (const c of this.closes) {
      // (A peer's own close notice names whatever code it likes, '' too.)
      if (
        typeof c.reason !== 'string' ||
        c.reason.length === 0 ||
        typeof c.code !== 'string' ||
        (c.code.length === 0 && !c.byPeer)
      )
        this.notes.push(`a close without a reason: ${show(c)}`);
      if (/internal error/.test(c.reason)) this.notes.push(`the link closed on an internal error: ${c.reason}`);
    }
    if (before === 1 && !this.closes[0]!.byPeer && !this.socket.ended && !this.socket.destroyed)
      this.notes.push('A closed the link but left the socket open');
    if (!this.socket.ended && !this.socket.destroyed) this.notes.push('the socket was neither ended nor destroyed');
  }

  /**
   * Reads what was fed the way a correct decoder would: while A's link is open, a header out of
   * range must not have been fed (A closes on it at once), and what A may hold is bounded: an
   * incomplete frame within its limit, and (after our proof) a batch within SEAL_BYTES plus a frame.
   */
  #checkBounded(): void {
    if (
      this.conn.state === 'closed' ||
      this.fed.length < PREAMBLE_SIZE ||
      this.fed.subarray(0, PREAMBLE_SIZE).compare(PREAMBLE) !== 0
    )
      return;
    let at = PREAMBLE_SIZE;
    let batch = 0;
    while (at + HEADER_SIZE <= this.fed.length) {
      const type = this.fed[at]!;
      const length = this.fed.readUIntBE(at + 1, 3);
      const authenticated = this.authAt >= 0 && at >= this.authAt;
      const limit = authenticated ? LINK_MAX : HANDSHAKE_FRAME_LIMIT;
      if (type > LinkFrameType.TAG || length > limit)
        return void this.notes.push(
          `the link is still ${this.conn.state} after a frame header of type ${type} and length ${length} (limit ${limit})`,
        );
      if (at + HEADER_SIZE + length > this.fed.length) break;
      at += HEADER_SIZE + length;
      if (authenticated) batch = type === LinkFrameType.TAG ? 0 : batch + HEADER_SIZE + length;
    }
    if (batch > SEAL_BYTES + HEADER_SIZE + LINK_MAX) this.notes.push(`the link still holds ${batch} untagged octets`);
  }
}

const linkSeeds = [...LINK_SEEDS, ...Array.from({ length: EXTRA_SEEDS }, (_, i) => 0x1b_1000 + i)];

test("link: a member's mutated handshake and frames never throw, close the link once with a reason, and buffer a bounded amount", async (t) => {
  const started = performance.now();
  const failures: string[] = [];
  const codes = new Map<string, number>();
  let runs = 0;
  for (const seed of linkSeeds) {
    const rng = new Rng(seed);
    for (let i = 0; i < LINK_RUNS; i++) {
      const run = new LinkRun(rng.fork(), `seed 0x${seed.toString(16)} run ${i}`);
      await run.run();
      runs++;
      const code = `${run.stage}:${run.closes[0]?.code ?? '-'}`;
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (run.notes.length > 0) failures.push(`${run.label} (${run.stage}): ${run.notes.join('; ')}`);
    }
  }
  t.log(
    `${runs} connections in ${Math.round(performance.now() - started)} ms; stage:close code ${show([...codes].sort())}`,
  );
  for (const f of failures.slice(0, 10)) t.fail(f);
  if (failures.length === 0) t.pass();
});

test('link: the frame decoder hands on exactly the frames it was given, in any chunking, and stops at the first bad header', (t) => {
  const rng = new Rng(0xdec0de);
  for (let run = 0; run < 400 + EXTRA_SEEDS * 400; run++) {
    const limit = rng.pick([0, 16, 4096, 70_000]);
    const frames: { type: number; payload: Uint8Array }[] = [];
    const parts: Uint8Array[] = [];
    let bad: number | undefined;
    for (let i = rng.int(8); i > 0 && bad === undefined; i--) {
      if (rng.chance(0.1)) {
        // A bad header: the decoder must stop here, after handing on everything before.
        bad = frames.length;
        parts.push(
          rng.chance(0.5)
            ? Uint8Array.of(5 + rng.int(251), 0, 0, 0)
            : frameHeader(rng.pick(FRAME_TYPES), Math.min(MAX_FRAME, limit + 1 + rng.int(100))),
        );
        break;
      }
      const payload = rng.bytes(rng.chance(0.1) ? limit : rng.int(Math.min(limit, 300) + 1));
      const type = rng.pick(FRAME_TYPES);
      frames.push({ type, payload });
      parts.push(encodeLinkFrame(type, payload));
    }
    const stream = Buffer.concat(parts);
    const got: { type: number; payload: Buffer }[] = [];
    const decoder = new LinkFrameDecoder(limit);
    let error: string | undefined;
    for (let at = 0; at < stream.length; ) {
      const n = rng.chance(0.5) ? 1 + rng.int(7) : 1 + rng.int(stream.length - at);
      try {
        error ??= decoder.feed(stream.subarray(at, at + n), (type, payload) => {
          got.push({ type, payload: Buffer.from(payload) });
          return true;
        });
      } catch (e) {
        return void t.fail(`run ${run}: feed() threw: ${String(e)}`);
      }
      at += n;
    }
    if (
      got.length !== frames.length ||
      got.some((g, i) => g.type !== frames[i]!.type || !g.payload.equals(frames[i]!.payload))
    ) {
      return void t.fail(`run ${run}: ${frames.length} frames in, ${got.length} out, or not the same`);
    }
    if ((bad !== undefined) !== (error !== undefined))
      return void t.fail(`run ${run}: bad header at ${bad}, decoder said ${error}`);
    // Dead after a violation: nothing more comes out.
    if (
      error !== undefined &&
      decoder.feed(encodeLinkFrame(LinkFrameType.PING, new Uint8Array(1)), () => {
        got.push({ type: -1, payload: Buffer.alloc(0) });
        return true;
      }) === undefined
    )
      return void t.fail(`run ${run}: decoder alive after "${error}"`);
  }
  t.pass();
});
