// The harness of the mesh fuzz (fuzz-node.test.ts; the link's bytes are fuzzed in
// fuzz-link.test.ts): node A with its honest neighbour B and the fuzzed member router F, the
// mutations F sends, and the checks run after every step. What it promises and checks is
// described in fuzz-node.test.ts. This file holds a run (its steps, probes and final checks)
// and the seeds; the parts it builds on, each on the one before: mesh-fuzz-world.ts (nodes,
// links, state), mesh-fuzz-frames.ts (F's valid frames), mesh-fuzz-mutate.ts (mutations),
// mesh-fuzz-steps.ts (delivery, local clients, settle); mesh-fuzz-client.ts (the clients).

import { hashValue, toRecords } from '../../src/mesh/replication/records.ts';
import { cbor } from '../../src/serializers/index.ts';
import { DEEP, exoticBytes, withSplicedValue } from '../helpers/fuzz-input.ts';
import { EXTRA_SEEDS, show } from '../helpers/fuzz-checks.ts';
import type { LocalClient } from './mesh-fuzz-client.ts';
import { A, B, F, HLC, LOCAL_REALMS, MESH_CONFIG } from './mesh-fuzz-world.ts';
import { MeshFuzzSteps } from './mesh-fuzz-steps.ts';

export { A, B, F } from './mesh-fuzz-world.ts';
export { hlcOf } from './mesh-fuzz-frames.ts';

const MESH_SEEDS = [0x3e5_0001, 0x3e5_0002, 0x3e5_0003, 0x3e5_0004, 0x3e5_0005, 0x3e5_0006];
export const MESH_STEPS = 1_500;

/** One run: A, its neighbours B and F, and the checks. */
export class MeshFuzz extends MeshFuzzSteps {
  // ---- probes -------------------------------------------------------------------------------------

  call(from: LocalClient, procedure: string, options: Record<string, unknown> = {}): number {
    const request = this.nextRequest++;
    const payload = [`p${request}`, this.rng.int(1000)];
    // A call to B's callee goes where A's routes say: F may have made them go through itself
    // (forged advertisements, as any member can), or made itself the callee; then F answers.
    // Same for a registration F shares (one of its advertisements may join a shared one).
    let trusted: boolean;
    if (from === this.caller) {
      const callees = this.a.router.realms.get('realm1')!.dealer.match(procedure)?.callees ?? [];
      trusted = callees.every(
        (c) => c.remote !== true || (c.details().node === B && this.a.mesh.lsdb.routes().get(B) === B),
      );
    } else trusted = this.b.mesh.lsdb.routes().get(A) === A;
    this.outstanding.set(request, { procedure, payload, trusted });
    from.out([48, request, options, procedure, payload]);
    return request;
  }

  /** A local call must be answered at once, correctly, whatever F did. */
  probeLocal(): void {
    this.stepKind = 'probe-local';
    // (Exact and 'single': no advertisement can share it. 'com.local.x' F can: see probeRemote.)
    const request = this.call(this.caller, 'com.local.echo');
    this.settle();
    if (this.outstanding.has(request)) this.fail(`a local call (request ${request}) was not answered`);
  }

  probeRemote(): void {
    this.stepKind = 'probe-remote';
    const r = this.rng.int(12);
    if (r < 3) this.call(this.caller, 'com.b.echo', this.rng.chance(0.3) ? { receive_progress: true } : {});
    else if (r < 7) this.call(this.caller, 'com.f.echo', this.rng.chance(0.3) ? { receive_progress: true } : {});
    else if (r < 8) this.call(this.bClient, this.rng.pick(['com.local.echo', 'com.local.x']));
    else if (r < 9) this.call(this.caller, 'com.local.x');
    else if (r < 10) {
      // Calls and publications holding values our encoders never write, as a CBOR client can
      // send them: whatever the core does with them, what A sends on must be valid.
      const request = this.nextRequest++;
      const procedure = this.rng.pick(['com.b.echo', 'com.f.echo', 'com.local.echo']);
      const payload = this.rng.pick([[[DEEP]], [[], { k: DEEP }], [[], DEEP]]);
      const message = this.rng.chance(0.7)
        ? [48, request, {}, procedure, ...payload]
        : [16, request, {}, 'com.a.topic', ...payload];
      const frame = withSplicedValue(this.rng, cbor, message, exoticBytes(this.rng, 'cbor'), true);
      if (message[0] === 48) this.outstanding.set(request, { procedure, payload: undefined, trusted: false });
      if (frame === undefined || !this.caller.outRaw(frame)) this.outstanding.delete(request);
    } else {
      // A publication from A: A's subscriber gets it at once, on both its subscriptions.
      const request = this.nextRequest++;
      this.caller.out([16, request, { acknowledge: true, exclude_me: true }, 'com.a.topic', ['news', request]]);
      const published = this.expectReply(this.caller, 17, request);
      const events = this.subscriber.inbox.filter((m) => m[0] === 36 && m[2] === published[2]);
      if (events.length !== 2)
        this.fail(
          `A's subscriber got ${events.length} copies of a local publication, not 2: ${show(this.subscriber.inbox)}`,
        );
    }
    this.settle();
  }

  // ---- the run -------------------------------------------------------------------------------------

  run(steps: number): void {
    this.setup();
    for (this.step = 1; this.step <= steps; this.step++) {
      this.lastFrame = undefined;
      const r = this.rng.int(100);
      if (r < 4) {
        this.stepKind = 'time';
        this.advance(this.rng.pick([50, 300, 1_000, 3_000]));
      } else if (r < 5) {
        this.stepKind = 'f-hangs-up';
        this.fLinkDown();
      } else if (r < 7) {
        this.stepKind = 'b-answers';
        for (const m of this.bHeld.splice(0, 1 + this.rng.int(3))) this.bCallee.out([70, m[1], {}, ...m.slice(4)]);
      } else if (r < 8) {
        this.stepKind = 'admin';
        const store = this.a.security!.store;
        try {
          if (this.rng.chance(0.5)) store.createUser('com.fuzz.r0', { authid: `u${this.step}`, password: 'pw' });
          else store.createRealm({ uri: `com.fuzz.n${this.step}`, authmethods: ['ticket'] });
        } catch {
          /* the fuzz may have deleted the realm, or made the name taken */
        }
      } else if (r < 12) {
        this.probeLocal();
      } else if (r < 24) {
        this.probeRemote();
      } else {
        this.fSend();
      }
      this.settle();
      this.#checkStore();
    }
    this.finish();
  }

  /** The replication versions describe exactly what the store holds; the watched realms are untouched. */
  #checkStore(final = false): void {
    if (!final && this.step % 50 !== 0) return;
    const { security, db } = this.a;
    const records = toRecords(security!.store.exportDocument());
    const rows = new Map(
      db!
        .prepare<[], { key: string; hlc: string; node: string; deleted: number; hash: string }>(
          'SELECT key, hlc, node, deleted, hash FROM replica_version',
        )
        .all()
        .map((r) => [r.key, r]),
    );
    for (const [key, value] of records) {
      const row = rows.get(key);
      if (row === undefined || row.deleted !== 0 || (row.hash !== hashValue(value) && row.hash !== '-'))
        this.fail(`A's store holds ${key} but its version says ${show(row)}`);
    }
    for (const [key, row] of rows) {
      if (!HLC.test(row.hlc)) this.fail(`A holds the version ${show(row)} of ${key}: not an HLC`);
      if (row.deleted === 0 && row.hash !== '-' && !records.has(key))
        this.fail(`A's version of ${key} says it is there, but the store does not hold it`);
    }
    for (const realm of LOCAL_REALMS)
      if (this.a.router.realms.get(realm) === undefined) this.fail(`realm ${realm} is gone from A`);
  }

  finish(): void {
    this.stepKind = 'finish';
    // F goes away for good; B's callee answers everything; advertisements F forged expire.
    this.fReachable = false;
    this.bMayHold = false;
    this.fLinkDown();
    this.a.mesh.peerLost(F);
    this.settle();
    for (let i = 0; i < 5; i++) {
      for (const m of this.bHeld.splice(0)) this.bCallee.out([70, m[1], {}, ...m.slice(4)]);
      this.advance(MESH_CONFIG.lsaMaxAgeMs / 2);
    }
    this.#checkStore(true);
    // Progressive invocations still waiting for a last chunk: a cancel in mode 'skip' leaves them
    // to the callee (it is not told). The callees finish them; the Dealer ignores the answers.
    for (const [c, held] of this.held) for (const request of held.keys()) c.out([70, request, {}, ['late']]);
    this.settle();
    if (this.outstanding.size > 0) this.fail(`calls never answered: ${show([...this.outstanding])}`);
    const status = this.a.mesh.status();
    if (status.callsInFlight !== 0)
      this.fail(`A still has ${status.callsInFlight} calls in flight ${show(status, 3000)}`);
    if (status.remoteCallees !== 1) this.fail(`A has ${status.remoteCallees} remote callees, expected B's only`);
    // Callers stand for a router's calls in one realm: only B's may be left (F forged some of B's).
    if ((status.remoteCallers as number) > this.a.router.realms.size)
      this.fail(`A keeps ${String(status.remoteCallers)} remote callers; only B's may be left`);
    if (show(status.routes) !== show({ B })) this.fail(`A's routes: ${show(status.routes)}`);
    for (const node of [this.a, this.b]) {
      for (const [uri, realm] of node.router.realms) {
        if (realm.dealer.pendingCount !== 0)
          this.fail(`${node.id}'s dealer in ${uri} has ${realm.dealer.pendingCount} invocations pending`);
      }
    }

    // Fresh traffic both ways.
    const request = this.call(this.caller, 'com.b.echo');
    this.settle();
    if (this.outstanding.has(request)) {
      const reg = this.a.router.realms.get('realm1')!.dealer.match('com.b.echo');
      this.fail(
        `after the fuzz, A's call to B's callee was not answered; A: ${show(this.a.mesh.status(), 2000)}; registration: ` +
          `${show(reg === undefined ? undefined : { ...reg, callees: reg.callees.map((c) => c.details()) })}`,
      );
    }
    const back = this.call(this.bClient, 'com.local.echo');
    this.settle();
    if (this.outstanding.has(back)) this.fail("after the fuzz, B's call to A's callee was not answered");
    // (settle() consumes the inboxes: count through the stats.)
    const before = this.stats.events;
    this.bClient.out([16, this.nextRequest++, {}, 'com.a.topic', ['from B']]);
    this.settle();
    if (this.stats.events - before !== 2)
      this.fail(
        `after the fuzz, A's subscriber got ${this.stats.events - before} events of a publication from B, not 2`,
      );
    const before2 = this.stats.events;
    this.caller.out([16, this.nextRequest++, {}, 'com.a.topic', ['from A']]);
    this.settle();
    if (this.stats.events - before2 !== 3)
      this.fail(
        `after the fuzz, a publication from A reached ${this.stats.events - before2} subscriptions, not 3 (2 on A, 1 on B); ` +
          `events at A ${show(this.a.mesh.status().events)}, at B ${show(this.b.mesh.status().events)}`,
      );

    // Local clients leave: nothing of theirs stays behind, and only B's callee stays known.
    for (const c of this.clients.filter((x) => x.name.startsWith('A/'))) c.handler.closed();
    this.settle();
    for (const [uri, realm] of this.a.router.realms) {
      const regs = [...realm.dealer.registrations()].map((r) => `${r.procedure} [${r.callees.map((x) => x.id)}]`);
      const expected = uri === 'realm1' ? ['com.b.echo'] : [];
      if (show(regs.map((r) => r.split(' ')[0])) !== show(expected))
        this.fail(`A's registrations in ${uri} after its clients left: ${show(regs)}`);
      if (realm.broker.subscriptionCount !== 0)
        this.fail(`A's realm ${uri} still has ${realm.broker.subscriptionCount} subscriptions`);
      if (realm.sessions.size !== 0) this.fail(`A's realm ${uri} still has ${realm.sessions.size} sessions`);
    }
  }
}

/** MESH_FUZZ_SEED=<seed> replays one seed (as printed in a failure, 0x... or decimal). */
export const only = process.env.MESH_FUZZ_SEED;
export const meshSeeds =
  only !== undefined
    ? [Number(only)]
    : [...MESH_SEEDS, ...Array.from({ length: EXTRA_SEEDS }, (_, i) => 0x3e5_1000 + i)];

/** A with its neighbours B and F linked, as the fuzz starts; `body` gets it, and it is disposed of after. */
export function withMesh(body: (fuzz: MeshFuzz) => void): void {
  const fuzz = new MeshFuzz(0x3e5_0001);
  try {
    fuzz.setup();
    body(fuzz);
  } finally {
    fuzz.dispose();
  }
}
