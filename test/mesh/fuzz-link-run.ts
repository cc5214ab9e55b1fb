// One connection of the link fuzz (fuzz-link.test.ts): A's LinkConnection over a fake socket,
// accepting F, which knows the secret and misbehaves at one stage; after each run, the checks.

import { NodeKey } from '../../src/mesh/trust/node-key.ts';
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { validateFrame } from '../../src/mesh/routing/frames.ts';
import {
  clusterIdOf,
  computeProof,
  keyTranscript,
  decodeControl,
  encodeControl,
  HELLO_VERSION,
  linkKey,
  newNonce,
  type Hello,
} from '../../src/mesh/links/auth.ts';
import { LinkConnection, type LinkHost } from '../../src/mesh/links/connection.ts';
import {
  encodeLinkFrame,
  HANDSHAKE_FRAME_LIMIT,
  HEADER_SIZE,
  LinkFrameDecoder,
  LinkFrameType,
  MAX_FRAME,
  PREAMBLE,
  PREAMBLE_SIZE,
} from '../../src/mesh/links/framing.ts';
import { BATCH_BYTES, BatchMac, macKey } from '../../src/mesh/links/integrity.ts';
import { cbor } from '../../src/serializers/index.ts';
import { mutateBytes, type Rng } from '../helpers/fuzz-input.ts';
import { show } from '../helpers/fuzz-checks.ts';
import { A, F } from './mesh-fuzz.ts';
import { CLUSTER, junkFrame, LINK_MAX, MESH_SAMPLES, SECRET } from './fuzz-link-inputs.ts';

/** Just enough of net.Socket for LinkConnection and FrameWriter; what is written is kept. */
export class FakeSocket extends EventEmitter {
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

export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One connection: A accepts, the fuzz dials as F, knows the secret, and misbehaves somewhere. */
export class LinkRun {
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
      this.feed(
        rng.chance(0.5) ? junkFrame(this.rng, this.nonce, false) : mutateBytes(rng, 'cbor', helloFrame, PREAMBLE),
      );
      if (rng.chance(0.5)) this.feed(junkFrame(this.rng, this.nonce, false));
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
      else this.feed(junkFrame(this.rng, this.nonce, false));
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
      Array.from({ length: 1 + rng.int(4) }, () => junkFrame(this.rng, this.nonce, true)),
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
   * incomplete frame within its limit, and (after our proof) a batch within BATCH_BYTES plus a frame.
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
    if (batch > BATCH_BYTES + HEADER_SIZE + LINK_MAX) this.notes.push(`the link still holds ${batch} untagged octets`);
  }
}
