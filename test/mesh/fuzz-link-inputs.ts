// The link fuzz's input (fuzz-link.test.ts): the cluster F and A share, mesh frames a member
// sends, and the frames F may put on a link after its hello or proof, right, wrong or no frame.

import type { MeshFrame } from '../../src/mesh/routing/frames.ts';
import { encodeEventContent } from '../../src/mesh/routing/event-content.ts';
import { clusterIdOf, encodeControl, HELLO_VERSION, type Control } from '../../src/mesh/links/auth.ts';
import { encodeLinkFrame, frameHeader, HANDSHAKE_FRAME_LIMIT, LinkFrameType } from '../../src/mesh/links/framing.ts';
import { cbor } from '../../src/serializers/index.ts';
import { deepBytes, exoticBytes, mutateBytes, randomValue, type Rng, withSplicedValue } from '../helpers/fuzz-input.ts';
import { A, F } from './mesh-fuzz.ts';

export const CLUSTER = 'fuzz-cluster';
export const SECRET = 'fuzz secret';
/** What A accepts once the peer has authenticated (1 MiB: big enough to matter, small enough to fill). */
export const LINK_MAX = 1 << 20;

/** Mesh frames a member sends, for MESH payloads to start from. */
export const MESH_SAMPLES: readonly MeshFrame[] = [
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
export function mutateTree(rng: Rng, value: unknown): unknown {
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

/** A frame A may receive after our hello or proof (right, wrong, or not a frame at all). */
export function junkFrame(rng: Rng, nonce: Uint8Array, authenticated: boolean): Uint8Array {
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
            nonce,
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
