// The harness of the mesh fuzz: one step's traffic. F's sends delivered to A, the local clients
// joined, answering and checking, and settle(): links deliver until all is quiet, then checks.

import { decodeEnvelope, encodeEnvelope } from '../../src/mesh/links/envelope.ts';
import { PassedFrame, type MeshFrame } from '../../src/mesh/routing/frames.ts';
import { cbor, json, msgpack, type Serializer } from '../../src/serializers/index.ts';
import { isDict } from '../../src/wamp/parse.ts';
import { DEEP, deepBytes, exoticBytes, mutateBytes, withSplicedValue } from '../helpers/fuzz-input.ts';
import { ALL_ROLES, show } from '../helpers/fuzz-checks.ts';
import { LocalClient } from './mesh-fuzz-client.ts';
import { A, B, F, type SimNode } from './mesh-fuzz-world.ts';
import { F_CALLEE } from './mesh-fuzz-frames.ts';
import { MeshFuzzMutations } from './mesh-fuzz-mutate.ts';
import { meshFrames } from '../helpers/mesh-frames.ts';

export abstract class MeshFuzzSteps extends MeshFuzzMutations {
  /** A and F link up; F then does what a node does on a new link: sends its database. */
  #fLinkUp(): void {
    this.up.add(this.linkKey(A, F));
    this.a.mesh.linkUp(F);
    this.deliverFromF(this.#overWire([this.fLsa()]));
  }

  /** The link to F ends (a reason from A, or F hung up): F forgets the link's state, as a node would. */
  fLinkDown(): void {
    if (!this.up.delete(this.linkKey(A, F))) return;
    this.stats.linkDowns++;
    this.fInbox = [];
    this.fOwes.clear();
    this.a.mesh.linkDown(F);
  }

  /** Hands F's frames to A as one MESH payload would: in order, and the first reason ends the link. */
  deliverFromF(values: readonly unknown[]): void {
    for (const value of values) {
      if (!this.linked(A, F)) return;
      this.lastFrame = value;
      if (process.env.MESH_FUZZ_TRACE) console.log(`F -> A ${show(value, 400)}`);
      this.stats.frames++;
      let reason: string | undefined;
      try {
        reason = this.a.mesh.receive(F, value);
      } catch (error) {
        this.fail(`A.receive() threw: ${(error as Error).stack ?? String(error)}`);
      }
      const t = isDict(value) && typeof value.t === 'string' ? value.t : '?';
      if (reason === undefined) this.accepted.set(t, (this.accepted.get(t) ?? 0) + 1);
      if (reason !== undefined) {
        if (typeof reason !== 'string' || reason.length === 0)
          this.fail(`A.receive() returned a reason that is not a sentence: ${show(reason)}`);
        this.stats.refused++;
        this.refusedLog.push(reason);
        this.fLinkDown();
      }
    }
  }

  /** F's next send: valid, mutated values, or a mutated MESH payload. */
  fSend(): void {
    const rng = this.rng;
    // F dials again at once after a refusal (A's own redial would wait for its backoff).
    if (!this.linked(A, F)) this.#fLinkUp();
    const r = rng.int(100);
    const base = (): unknown => (this.pool.length > 0 && rng.chance(0.3) ? rng.pick(this.pool) : this.template());
    if (r < 35) {
      this.stepKind = 'valid';
      return this.deliverFromF(this.#overWire([this.template()]));
    }
    let frames: unknown[];
    if (r < 80) {
      this.stepKind = 'value';
      frames = Array.from({ length: rng.chance(0.8) ? 1 : 2 + rng.int(3) }, () =>
        rng.chance(0.75) ? this.mutate(base()) : base(),
      );
    } else {
      // Bytes: a MESH payload as the link would decode it, mutated, spliced with a deep or
      // exotic value, or a value our encoder never writes.
      this.stepKind = 'bytes';
      let bytes: Uint8Array | undefined;
      try {
        const message = [base()];
        const k = rng.int(10);
        if (k < 2)
          bytes = withSplicedValue(
            rng,
            cbor,
            message,
            deepBytes('cbor', rng.pick([200, 1_000, 100_000]), rng.chance(0.5)),
          );
        else if (k < 5) bytes = withSplicedValue(rng, cbor, message, exoticBytes(rng, 'cbor'));
        // Else, or where the splice found no place: mutated, half the time as the routers write it
        // (a call's frames embedded, their keys numbered).
        if (bytes === undefined) {
          const encoded = rng.chance(0.5) ? encodeEnvelope(message as MeshFrame[]) : cbor.encode(message);
          bytes = mutateBytes(rng, 'cbor', encoded, cbor.encode([base()]));
        }
      } catch {
        return;
      }
      this.stats.bytes++;
      // As LinkConnection reads a MESH payload (a call's frames only as far as their header);
      // an undecodable one closes the link ('invalid-frame') before the mesh sees anything.
      const decoded = decodeEnvelope(bytes);
      if (typeof decoded === 'string') {
        this.stats.undecodable++;
        return;
      }
      frames = decoded;
    }
    frames = frames.map((f) => (isDict(f) && typeof f.t === 'string' && f.t.startsWith('repl') ? this.shield(f) : f));
    this.deliverFromF(this.#overWire(frames));
  }

  /** Frames as the CBOR decoder makes them from the wire (a frame the encoder cannot write never arrives). */
  #overWire(frames: unknown[]): unknown[] {
    return frames.flatMap((f) => {
      try {
        const decoded = decodeEnvelope(encodeEnvelope([f as MeshFrame]));
        return typeof decoded === 'string' ? [] : decoded;
      } catch {
        return [];
      }
    });
  }

  /** F reads what A sent it: calls it owes an answer, records for its pool. */
  #fRead(): void {
    for (const frame of this.fInbox.splice(0)) {
      this.pool.push(frame);
      if (this.pool.length > 300) this.pool.splice(0, 100);
      if (frame.t === 'call' && frame.origin === A) {
        this.fOwes.set(frame.id, { realm: frame.realm, id: frame.id });
        this.stats.callsToF++;
      }
      if (frame.t === 'cancel' && frame.origin === A && frame.mode !== 'kill') this.fOwes.delete(frame.id);
      if (frame.t === 'repl-push')
        for (const r of frame.records) {
          this.recordPool.push(r);
          if (this.recordPool.length > 100) this.recordPool.shift();
        }
    }
  }

  // ---- local clients --------------------------------------------------------------------------

  #client(node: SimNode, serializer: Serializer, name: string): LocalClient {
    const c = new LocalClient(this, serializer, name);
    c.handler = node.router.attach(c);
    this.clients.push(c);
    this.held.set(c, new Map());
    c.out([1, 'realm1', { roles: ALL_ROLES }]);
    const welcome = c.inbox.shift();
    if (welcome?.[0] !== 2) this.fail(`${name} not welcomed: ${show(welcome)}`);
    c.sessionId = welcome[1] as number;
    return c;
  }

  protected expectReply(c: LocalClient, code: number, request: number): unknown[] {
    const i = c.inbox.findIndex((m) => m[0] === code && m[1] === request);
    if (i < 0) this.fail(`${c.name}: no reply ${code} to request ${request}; got ${show(c.inbox)}`);
    return c.inbox.splice(i, 1)[0]!;
  }

  #register(c: LocalClient, procedure: string, options: Record<string, unknown> = {}): void {
    const request = this.nextRequest++;
    c.out([64, request, options, procedure]);
    this.expectReply(c, 65, request);
  }

  #subscribe(c: LocalClient, topic: string, options: Record<string, unknown> = {}): void {
    const request = this.nextRequest++;
    c.out([32, request, options, topic]);
    const reply = this.expectReply(c, 33, request);
    this.subscriptions.get(c)?.push(reply[2] as number) ?? this.subscriptions.set(c, [reply[2] as number]);
  }

  setup(): void {
    this.callee = this.#client(this.a, cbor, 'A/callee(cbor)');
    this.subscriber = this.#client(this.a, msgpack, 'A/subscriber(msgpack)');
    this.caller = this.#client(this.a, cbor, 'A/caller(cbor)');
    this.bCallee = this.#client(this.b, json, 'B/callee');
    this.bClient = this.#client(this.b, cbor, 'B/client');
    this.#register(this.callee, 'com.local.echo');
    this.#register(this.callee, 'com.local', { match: 'prefix', invoke: 'roundrobin' });
    this.#subscribe(this.subscriber, 'com.a.topic');
    this.#subscribe(this.subscriber, 'com', { match: 'prefix' });
    this.#register(this.bCallee, 'com.b.echo');
    this.#subscribe(this.bClient, 'com.a.topic');
    this.liveIds.push(
      this.callee.sessionId,
      this.subscriber.sessionId,
      this.caller.sessionId,
      this.bCallee.sessionId,
      this.bClient.sessionId,
      F_CALLEE,
    );
    // Security records on A, for F's replication traffic to start from.
    const store = this.a.security!.store;
    store.createRealm({ uri: 'com.fuzz.r0', authmethods: ['ticket'] });
    store.createGroup('com.fuzz.r0', { name: 'ops' });
    store.createUser('com.fuzz.r0', { authid: 'alice', password: 'alice password', groups: ['ops'] });
    store.createRealm({ uri: 'com.fuzz.r1', authmethods: ['ticket', 'wampcra'] });
    this.a.mesh.peerDiscovered(B);
    this.b.mesh.peerDiscovered(A);
    this.a.mesh.peerDiscovered(F);
    this.advance(500);
    if (!this.linked(A, B) || !this.linked(A, F)) this.fail(`links did not come up: ${show(this.a.mesh.status())}`);
    if (this.a.mesh.status().remoteCallees !== 2)
      this.fail(`A should know B's and F's callees: ${show(this.a.mesh.status())}`);
  }

  /** Time passes: timers, ticks, dials. */
  advance(ms: number): void {
    const until = this.clock.now + ms;
    while (this.clock.now < until) {
      this.clock.run(Math.min(100, until - this.clock.now));
      this.a.mesh.tick(this.clock.now);
      this.b.mesh.tick(this.clock.now);
      this.a.router.tick(this.clock.now);
      this.b.router.tick(this.clock.now);
      this.settle();
    }
  }

  /** After each step: links deliver, clients answer, everything is checked. */
  settle(): void {
    for (let round = 0; ; round++) {
      if (round > 200) this.fail('the nodes and clients kept messaging each other for 200 rounds');
      this.#report();
      let more = false;
      for (const { from, to } of this.connects.splice(0)) {
        more = true;
        if (to.startsWith('-')) {
          this.meshOf(from)?.linkDown(to.slice(1));
          continue;
        }
        if (to === F) {
          if (this.fReachable && !this.linked(A, F)) this.#fLinkUp();
          else if (!this.fReachable) this.a.mesh.dialFailed(F);
          continue;
        }
        const other = this.meshOf(to);
        if (other === undefined) {
          this.meshOf(from)?.dialFailed(to);
          continue;
        }
        if (!this.linked(from, to)) {
          this.up.add(this.linkKey(from, to));
          this.meshOf(from)!.linkUp(to);
          other.linkUp(from);
        } else this.meshOf(from)!.linkUp(to);
      }
      for (const fn of this.soon.splice(0)) {
        more = true;
        fn();
      }
      for (const { from, to, bytes } of this.wire.splice(0)) {
        more = true;
        if (!this.linked(from, to)) continue;
        // As LinkConnection reads it: a call's frame only as far as its header.
        const value = (decodeEnvelope(bytes) as unknown[])[0];
        if (process.env.MESH_FUZZ_TRACE) console.log(`${from} -> ${to} ${show(value, 400)}`);
        if (!(value instanceof PassedFrame)) this.pool.push(value as MeshFrame);
        else {
          try {
            this.pool.push(meshFrames(bytes)[0] as MeshFrame);
          } catch {
            // A payload passed on that only its destination reads (and refuses).
          }
        }
        if (this.pool.length > 300) this.pool.splice(0, 100);
        let reason: string | undefined;
        try {
          reason = this.meshOf(to)!.receive(from, value);
        } catch (error) {
          this.fail(`${to}.receive() threw on a frame from ${from}: ${(error as Error).stack ?? String(error)}`);
        }
        if (reason !== undefined) this.fail(`${to} refused a frame from ${from} (${reason}): ${show(value, 500)}`);
      }
      if (this.fInbox.length > 0) {
        this.#fRead();
        more = true;
      }
      if (this.#clientsAct()) more = true;
      if (!more) break;
    }
    this.#report();
  }

  #report(): void {
    if (this.notes.length > 0) this.fail(this.notes.join('\n  '));
  }

  /** Local clients act on what they got; whether anything happened. */
  #clientsAct(): boolean {
    let acted = false;
    for (const c of this.clients) {
      const messages = c.inbox.splice(0);
      if (messages.length > 0) acted = true;
      for (const m of messages) this.#onMessage(c, m);
    }
    return acted;
  }

  #onMessage(c: LocalClient, m: unknown[]): void {
    const held = this.held.get(c)!;
    switch (m[0]) {
      case 68: {
        // INVOCATION: echo (B's callee sometimes later); a progressive one when its last chunk comes
        this.stats.invocations++;
        const [, request, , details] = m as [number, number, number, Record<string, unknown>];
        if (details.progress === true) {
          held.set(request, m);
          return;
        }
        held.delete(request);
        if (c === this.bCallee && this.bMayHold && this.rng.chance(0.3)) {
          this.bHeld.push(m);
          return;
        }
        if (c === this.callee && this.rng.chance(0.1)) {
          // An honest router passes on what its clients may send: an error whose details or
          // payload hold values our encoders never write (A must still send valid frames).
          const frame = withSplicedValue(
            this.rng,
            cbor,
            this.rng.pick([
              [8, 68, request, DEEP, 'com.local.odd'],
              [8, 68, request, { k: DEEP }, 'com.local.odd'],
              [8, 68, request, {}, 'com.local.odd', [DEEP]],
              [8, 68, request, {}, 'com.local.odd', [], DEEP],
              [8, 68, request, {}, 'com.local.odd', [], { k: DEEP }],
            ]),
            exoticBytes(this.rng, 'cbor'),
            true,
          );
          if (frame !== undefined && c.outRaw(frame)) return void c.open.delete(request);
        }
        if (details.receive_progress === true && this.rng.chance(0.3))
          c.out([70, request, { progress: true }, ...m.slice(4)]);
        c.out([70, request, {}, ...m.slice(4)]);
        return;
      }
      case 69: {
        // INTERRUPT
        const request = m[1] as number;
        held.delete(request);
        const i = c === this.bCallee ? this.bHeld.findIndex((x) => x[1] === request) : -1;
        if (i >= 0) this.bHeld.splice(i, 1);
        if (c.open.has(request)) c.out([8, 68, request, {}, 'wamp.error.canceled']);
        return;
      }
      case 50:
      case 8: {
        // RESULT, ERROR
        if (m[0] === 8 && m[1] !== 48) return; // errors of REGISTER etc. are checked where sent
        const request = (m[0] === 8 ? m[2] : m[1]) as number;
        const call = this.outstanding.get(request);
        if (c !== this.caller && c !== this.bClient)
          return this.note(`${c.name} got an answer to a call it never made: ${show(m)}`);
        if (call === undefined)
          return this.note(`${c.name} got an answer to request ${request}, which is not in flight: ${show(m)}`);
        const progress = m[0] === 50 && (m[2] as Record<string, unknown>).progress === true;
        if (!progress) this.outstanding.delete(request);
        this.stats.results++;
        // Whoever answers, only the callee called can: B's and A's callees echo.
        if (m[0] === 50 && call.trusted && show(m[3]) !== show(call.payload)) {
          this.note(
            `${c.name}'s call to ${call.procedure} was answered with ${show(m)}, not its own payload ${show(call.payload)}`,
          );
        }
        return;
      }
      case 36:
        this.stats.events++;
        return;
      default:
    }
  }
}
