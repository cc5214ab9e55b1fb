// The harness of the mesh fuzz: what F sends when it behaves, its advertisement and the valid
// frames a member router may send (answers, calls, chunks, events, replication), the seeds of
// every mutation.

import type { MeshFrame, NodeId } from '../../src/mesh/routing/frames.ts';
import { encodeEventContent, type EventContent } from '../../src/mesh/routing/event-content.ts';
import type { ReplicaRecord } from '../../src/mesh/replication/replicator.ts';
import { randomValue } from '../helpers/fuzz-input.ts';
import { A, B, F, MeshFuzzWorld } from './mesh-fuzz-world.ts';

export const CALLEE_FEATURES = [
  'progressive_call_results',
  'progressive_call_invocations',
  'call_canceling',
  'call_timeout',
  'caller_identification',
  'payload_passthru_mode',
];
/** F's callee, as its advertisement names it. */
export const F_CALLEE = 4242;

export const hlcOf = (ms: number, n = 0): string =>
  `${String(Math.max(0, Math.floor(ms)))
    .padStart(15, '0')
    .slice(-15)}.${String(n).padStart(6, '0')}`;

export abstract class MeshFuzzFrames extends MeshFuzzWorld {
  fLsa(): MeshFrame {
    return {
      t: 'lsa',
      origin: F,
      epoch: this.fEpoch,
      seq: ++this.fSeq,
      links: this.linked(A, F) ? [A] : [],
      realms: {
        realm1: {
          registrations: [
            {
              procedure: 'com.f.echo',
              match: 'exact',
              invoke: 'single',
              callees: [{ session: F_CALLEE, features: [...CALLEE_FEATURES] }],
            },
          ],
          subscriptions: [
            { topic: 'com.a.topic', match: 'exact' },
            { topic: 'com.f', match: 'prefix' },
          ],
        },
      },
    };
  }

  /** A valid frame for F to send now: what a member router would. */
  template(): MeshFrame {
    const rng = this.rng;
    const payload = (): { args?: unknown[]; kwargs?: Record<string, unknown> } => {
      const r = rng.int(4);
      if (r === 0) return {};
      const args = Array.from({ length: rng.int(3) }, () => randomValue(rng, 2));
      return r === 1 ? { args } : { args, kwargs: { k: randomValue(rng, 2) } };
    };
    const realm = rng.chance(0.9) ? 'realm1' : rng.pick(['realm2', 'nope']);
    for (;;) {
      switch (rng.int(14)) {
        case 0: {
          // Now and then F's callee under the session ID of a session on A or B.
          const lsa = this.fLsa();
          if (rng.chance(0.2))
            (lsa as unknown as { realms: { realm1: { registrations: { callees: { session: number }[] }[] } } }).realms
              .realm1.registrations[0]!.callees[0]!.session = rng.pick(this.liveIds);
          return lsa;
        }
        case 12:
        case 13: {
          // Frames of other nodes' traffic, as a member can forge them: another node's (or A's
          // own) advertisement, answers and chunks of calls between A and B (their IDs are
          // sequential: easy to guess), events of another source.
          const seen = this.pool.filter((f) => f.t !== 'repl-push' && f.t !== 'repl-versions' && f.t !== 'repl-digest');
          if (seen.length === 0) continue;
          // Mostly the latest calls between A and B: those may still be in flight.
          const recent = seen.filter((f) => f.t === 'call' && f.origin !== F && f.dst !== F).slice(-5);
          const f = structuredClone(
            recent.length > 0 && rng.chance(0.5) ? rng.pick(recent) : rng.pick(seen),
          ) as unknown as Record<string, unknown>;
          if (f.t === 'lsa') {
            f.seq = rng.pick([
              (f.seq as number) + 1,
              (f.seq as number) + 1_000,
              Number.MAX_SAFE_INTEGER - 1,
              Number.MAX_SAFE_INTEGER,
            ]);
            if (rng.chance(0.3))
              f.epoch = (f.epoch as number) + rng.pick([1, 1e9, Number.MAX_SAFE_INTEGER - (f.epoch as number)]);
            if (rng.chance(0.5)) f.links = rng.pick([[], [F], [A, B, F], ['Z']]);
          } else if (f.t === 'call' && f.origin !== F && rng.chance(0.5)) {
            // A call under A's or B's next IDs (sequential), before they make it, and one that lasts.
            f.id = (f.id as number) + 1 + rng.int(3);
            if (rng.chance(0.5)) f.details = { progress: true };
          } else if (f.t === 'call') {
            f.t = rng.pick(['result', 'error', 'chunk', 'cancel']);
            Object.assign(f, {
              progress: rng.chance(0.3),
              error: 'com.forged',
              mode: 'killnowait',
              details: {},
              args: ['forged'],
            });
            if (f.t === 'result' || f.t === 'error') f.dst = f.origin;
          } else if (f.t === 'event' && f.b instanceof Uint8Array && f.b.length > 0) {
            // Another event under the same numbers: one octet of its content changed.
            const b = Uint8Array.from(f.b);
            b[b.length - 1]! ^= 1;
            f.b = b;
          }
          return f as unknown as MeshFrame;
        }
        case 1:
        case 2: {
          // An answer to one of A's calls to F's callee.
          const owed = [...this.fOwes.values()];
          if (owed.length === 0) continue;
          const call = rng.pick(owed);
          const progress = rng.chance(0.2);
          if (!progress) this.fOwes.delete(call.id);
          this.stats.answersFromF++;
          if (rng.chance(0.2))
            return {
              t: 'error',
              origin: A,
              dst: A,
              id: call.id,
              realm: call.realm,
              error: rng.pick(['com.f.error', 'wamp.error.canceled', 'wamp.error.runtime_error']),
              details: {},
              ...payload(),
            };
          return {
            t: 'result',
            origin: A,
            dst: A,
            id: call.id,
            realm: call.realm,
            progress,
            details: rng.chance(0.1) ? { ppt_scheme: 'x_fuzz' } : {},
            ...payload(),
          };
        }
        case 3:
        case 4: {
          // A call to A's callee, or through A to B's.
          const toB = rng.chance(0.3);
          const id = ++this.fCallIds;
          const dst = toB ? B : A;
          this.fCalls.push({ id, dst, realm });
          if (this.fCalls.length > 40) this.fCalls.shift();
          const details: Record<string, unknown> = {};
          if (rng.chance(0.3)) details.receive_progress = true;
          if (rng.chance(0.15)) details.progress = true;
          if (rng.chance(0.1)) details.timeout = rng.pick([10, 1_000]);
          if (rng.chance(0.2)) Object.assign(details, { caller: 77, caller_authid: 'remote', caller_authrole: 'user' });
          return {
            t: 'call',
            origin: F,
            dst,
            id,
            realm,
            procedure: toB ? 'com.b.echo' : rng.pick(['com.local.echo', 'com.local.echo', 'com.local.nope']),
            match: 'exact',
            session: toB ? this.bCallee.sessionId : rng.chance(0.9) ? this.callee.sessionId : rng.pick(this.liveIds),
            details,
            ...payload(),
          };
        }
        case 5: {
          if (this.fCalls.length === 0) continue;
          const call = rng.pick(this.fCalls);
          if (rng.chance(0.5))
            return {
              t: 'chunk',
              origin: F,
              dst: call.dst,
              id: call.id,
              realm: call.realm,
              progress: rng.chance(0.5),
              ...payload(),
            };
          return {
            t: 'cancel',
            origin: F,
            dst: call.dst,
            id: call.id,
            realm: call.realm,
            mode: rng.pick(['skip', 'kill', 'killnowait']),
          };
        }
        case 6:
        case 7: {
          const dsts = rng.pick([[A], [A], [A, B], [B], [A, F]]);
          return {
            t: 'event',
            src: F,
            ep: this.fEpoch,
            dsts,
            // Numbers that repeat and jump: duplicates, gaps held back, given up.
            seqs: dsts.map(() => 1 + rng.int(40)),
            // Mostly the destination's life; sometimes another (numbered before a restart).
            lives: dsts.map((d) => (rng.chance(0.9) && d === A ? this.a.mesh.status().epoch : rng.int(3))) as number[],
            ttl: rng.pick([0, 1, 32]),
            ls: ++this.fLs,
            // The event's content travels encoded, as its origin sealed it.
            b: encodeEventContent({
              realm,
              topic: rng.pick(['com.a.topic', 'com.a.topic', 'com.a.other', 'com.f.x']),
              publication: 1 + rng.int(2 ** 50),
              timestamp: this.clock.now,
              details: rng.chance(0.2) ? { publisher: 5, topic: 'com.a.topic' } : {},
              retain: rng.chance(0.1),
              ...(rng.chance(0.1) && { excluded: rng.pick(this.liveIds) }),
              ...(rng.chance(0.3) && {
                filter: rng.pick([
                  { eligible: [this.subscriber.sessionId] },
                  { exclude: this.liveIds.slice(0, 2) },
                  { eligible_authrole: ['anonymous'] },
                  { exclude_authid: ['x'] },
                ]),
              }),
              ...payload(),
            } as EventContent),
          } as MeshFrame;
        }
        case 8:
          return {
            t: 'repl-digest',
            digest: rng.chance(0.5) ? this.a.replicator!.digest() : rng.pick(['', 'x', 'AAAA']),
          };
        case 9: {
          const versions = this.recordPool
            .slice(-20)
            .map((r): [string, string, NodeId, boolean] => [
              r.key,
              rng.chance(0.5) ? r.hlc : hlcOf(this.clock.now + rng.int(10_000)),
              rng.pick([r.node, F, B]),
              rng.chance(0.2),
            ]);
          return { t: 'repl-versions', versions, reply: rng.chance(0.5), ...(rng.chance(0.2) && { more: true }) };
        }
        case 10:
        case 11: {
          if (this.recordPool.length === 0) continue;
          // A's own records, newer and changed: what another node's edit looks like.
          const records = Array.from({ length: 1 + rng.int(3) }, () => {
            const r = structuredClone(rng.pick(this.recordPool));
            const edited: ReplicaRecord = { ...r, hlc: hlcOf(this.clock.now + rng.int(100_000), rng.int(5)), node: F };
            if (rng.chance(0.15)) return { key: r.key, hlc: edited.hlc, node: F, deleted: true };
            if (edited.value !== undefined && rng.chance(0.5))
              edited.value = { ...edited.value, description: `edited by F ${rng.int(100)}` };
            return edited;
          });
          this.stats.pushes++;
          return { t: 'repl-push', records };
        }
        default:
          continue;
      }
    }
  }
}
