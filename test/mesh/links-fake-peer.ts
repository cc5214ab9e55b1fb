// A hand-rolled link peer, for input a real node never sends (shared by the links-*.test.ts
// files): it runs the dialer's side of the handshake by hand and tags what it sends.

import net from 'node:net';
import { createCipheriv, createHmac, hkdfSync } from 'node:crypto';
import { NodeKey } from '../../src/mesh/trust/node-key.ts';
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
import { TAG_SIZE } from '../../src/mesh/links/integrity.ts';
import { CLUSTER, HOST, SECRET } from './links-harness.ts';

// The integrity tags, written from the description in links/integrity.ts with createHmac (not
// with the module's own code), so the tests also check that the wire format is as documented.
export function refMacKey(
  key: Uint8Array,
  dialerNonce: Uint8Array,
  acceptorNonce: Uint8Array,
  direction: string,
): Buffer {
  return Buffer.from(
    hkdfSync('sha256', key, Buffer.concat([dialerNonce, acceptorNonce]), `wampmesh-link/2 mac ${direction}`, 32),
  );
}

/** A batch's tag as links/integrity.ts documents it: HMAC-SHA256 under 4 KiB, Poly1305 from there. */
export function refTag(key: Uint8Array, seq: number, frames: Uint8Array): Buffer {
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(BigInt(seq));
  if (frames.length < 4096) return createHmac('sha256', key).update(n).update(frames).digest().subarray(0, TAG_SIZE);
  const polyKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'wampmesh-link/3 poly1305', 32));
  const cipher = createCipheriv('chacha20-poly1305', polyKey, Buffer.concat([Buffer.alloc(4), n]), {
    authTagLength: TAG_SIZE,
  });
  cipher.setAAD(frames, { plaintextLength: 0 });
  cipher.final();
  return cipher.getAuthTag();
}

export interface FakePeer {
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
export function fakeDial(
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
