// One seed of the core fuzz (fuzz-core.test.ts): the router with well-behaved bystanders and
// fuzzed sessions, driven step by step, with every promise checked after each step and at the end.

import { rmSync } from 'node:fs';
import type { Router } from '../../src/router/router.ts';
import { ManualScheduler, type Scheduler } from '../../src/router/scheduler.ts';
import type { Serializer } from '../../src/serializers/index.ts';
import type { Db } from '../../src/store/database.ts';
import { parseMessage, ProtocolViolation } from '../../src/wamp/parse.ts';
import { Rng } from '../helpers/fuzz-input.ts';
import { ALL_ROLES, SERIALIZERS, ROUTER_TO_CLIENT, Violation, hex, show } from '../helpers/fuzz-checks.ts';
import { answerBystanders, type Bystander } from './fuzz-core-bystanders.ts';
import { FrameMaker } from './fuzz-core-frames.ts';
import { observe } from './fuzz-core-observe.ts';
import { closeExplained, CorePeer, type FuzzSession, remember } from './fuzz-core-peer.ts';
import { coreRouter } from './fuzz-core-router.ts';
import { checkStillServes } from './fuzz-core-after.ts';

/** Fuzzed sessions alive at a time. */
const CORE_SESSIONS = 4;

/** What a seed saw, in the log line of its test; zero to start with. */
export const noStats = () => ({
  frames: 0,
  aborts: 0,
  welcomes: 0,
  results: 0,
  errors: 0,
  events: 0,
  invocations: 0,
  bystanderUnencodable: 0,
});

export class CoreFuzz {
  readonly serializer: Serializer;
  readonly seed: number;
  readonly rng: Rng;
  readonly scheduler = new ManualScheduler();
  readonly router: Router;
  readonly dataDir: string;
  readonly db: Db;
  readonly errors: string[] = [];
  readonly bystanders: Bystander[] = [];
  readonly sessions: FuzzSession[] = [];
  readonly all: CorePeer[] = [];
  readonly maker: FrameMaker;
  step = 0;
  stepKind = 'setup';
  lastFrame: Uint8Array | undefined;
  /** A violation seen inside a call into the core, reported once the call returns. */
  deferred: string | undefined;
  stats = noStats();

  constructor(serializer: Serializer, seed: number) {
    this.serializer = serializer;
    this.seed = seed;
    this.rng = new Rng(seed);
    const routerRng = this.rng.fork();
    const scheduler = this.#checkedScheduler();
    const core = coreRouter({
      scheduler,
      now: () => this.scheduler.now,
      random: () => routerRng.next(),
      errors: this.errors,
    });
    this.router = core.router;
    this.db = core.db;
    this.dataDir = core.dataDir;
    this.maker = new FrameMaker(this.rng, serializer);
  }

  fail(what: string, peer?: CorePeer): never {
    const frame = this.lastFrame === undefined ? '' : `\n  last frame in: ${hex(this.lastFrame)}`;
    const recent = peer === undefined ? '' : `\n  ${peer.name} received: ${show(peer.messages.slice(-4), 600)}`;
    throw new Violation(
      `${this.serializer.name} seed 0x${this.seed.toString(16)} step ${this.step} (${this.stepKind}): ${what}${frame}${recent}`,
    );
  }

  /** The ManualScheduler, checked: sane delays, callbacks that do not throw. */
  #checkedScheduler(): Scheduler {
    return {
      setTimeout: (fn, ms) => {
        // Noted, not thrown: a throw here would land in the core's own catch. (Delays beyond
        // Node's 2^31-1 ms are the real scheduler's business: it chains them.)
        if (!(Number.isFinite(ms) && ms >= 0)) this.deferred ??= `the router asked for a timer of ${ms} ms`;
        return this.scheduler.setTimeout(() => {
          try {
            fn();
          } catch (error) {
            this.fail(`a timer callback threw: ${(error as Error)?.stack ?? String(error)}`);
          }
        }, ms);
      },
      clearTimeout: (handle) => this.scheduler.clearTimeout(handle),
    };
  }

  newPeer(serializer: Serializer, name: string): CorePeer {
    const peer = new CorePeer(serializer, name, () => `${this.step} ${this.stepKind}`);
    peer.handler = this.router.attach(peer);
    this.all.push(peer);
    return peer;
  }

  /** Hands a frame to the core the way a transport does: receive() must not throw. */
  deliver(peer: CorePeer, frame: Uint8Array): void {
    this.lastFrame = frame;
    this.stats.frames++;
    try {
      peer.lastSent = parseMessage(peer.serializer.decode(frame));
    } catch {
      peer.lastSent = undefined;
    }
    try {
      peer.handler.receive(frame);
    } catch (error) {
      this.fail(`receive() threw: ${(error as Error)?.stack ?? String(error)}`, peer);
    }
  }

  send(peer: CorePeer, message: unknown[]): void {
    this.deliver(peer, peer.serializer.encode(message));
  }

  setup(): void {
    for (const s of SERIALIZERS) {
      const peer = this.newPeer(s, `bystander/${s.name}`);
      const b: Bystander = { peer, held: [], sessionId: 0, inboxAt: 0 };
      this.bystanders.push(b);
      this.send(peer, [1, 'realm1', { roles: ALL_ROLES }]);
      this.send(peer, [64, 1, { match: 'prefix', invoke: 'roundrobin' }, 'com']);
      this.send(peer, [32, 2, { match: 'prefix' }, 'com']);
      this.send(peer, [32, 3, {}, 'wamp.session.on_join']);
      this.send(peer, [32, 4, {}, 'wamp.registration.on_create']);
      this.settle();
      const welcome = peer.messages.find((m) => m[0] === 2);
      if (welcome === undefined) this.fail('bystander not welcomed', peer);
      b.sessionId = welcome[1] as number;
      if (!peer.messages.some((m) => m[0] === 65) || peer.messages.filter((m) => m[0] === 33).length !== 3)
        this.fail('bystander setup failed', peer);
    }
  }

  #newSession(): FuzzSession {
    const s: FuzzSession = {
      peer: this.newPeer(this.serializer, `fuzz#${this.all.length}`),
      hostility: this.rng.pick([0.05, 0.3, 0.7, 1]),
      welcomed: false,
      nextRequest: 1,
      ids: [],
      invocations: [],
      registrations: [],
      subscriptions: [],
      calls: [],
    };
    for (const b of this.bystanders) remember(s.ids, b.sessionId);
    this.sessions.push(s);
    // Now and then a peer that reads nothing from the start: over the hard limit at once.
    if (this.rng.chance(0.03)) s.peer.buffered = 17 << 20;
    // Most sessions join first, so the fuzz reaches the established state; some never do.
    if (this.rng.chance(0.85)) {
      this.stepKind = 'hello';
      const realm = this.rng.pick(['realm1', 'realm1', 'realm1', 'realm2', 'realm.auth']);
      const details: Record<string, unknown> = {
        roles: this.rng.chance(0.8) ? ALL_ROLES : { caller: {}, callee: {}, publisher: {}, subscriber: {} },
      };
      if (realm === 'realm.auth') {
        details.authmethods = ['ticket'];
        details.authid = 'alice';
      }
      this.send(s.peer, [1, realm, details]);
      if (realm === 'realm.auth' && this.rng.chance(0.7)) this.send(s.peer, [5, 'open sesame', {}]);
    }
    return s;
  }

  run(steps: number): void {
    this.setup();
    for (this.step = 1; this.step <= steps; this.step++) {
      const live = this.sessions.filter((s) => s.peer.closedBy === undefined && !s.peer.transportGone);
      if (live.length < CORE_SESSIONS) {
        this.#newSession();
        this.settle();
        continue;
      }
      const s = this.rng.pick(live);
      const r = this.rng.int(100);
      if (r < 3) {
        // Time passes: call timeouts, delayed authentication failures, HELLO and GOODBYE timeouts.
        this.stepKind = 'tick';
        this.scheduler.advance(this.rng.pick([1, 100, 600, 2_500, 11_000]));
        this.#tick();
      } else if (r < 5) {
        this.stepKind = 'transport-lost';
        s.peer.transportGone = true;
        this.#closed(s.peer);
      } else if (r < 6) {
        // Router-initiated GOODBYE (as for a deleted user): the session is 'closing' while the
        // fuzz goes on sending.
        this.stepKind = 'kill';
        const id = s.peer.messages.find((m) => m[0] === 2)?.[1];
        this.router.killSessions((x) => x.id === id, 'wamp.close.killed', 'fuzz');
      } else if (r < 7) {
        // A slow reader: events get dropped, and over the hard limit the session is closed.
        this.stepKind = 'backpressure';
        s.peer.buffered = this.rng.pick([0, 0, 2 << 20, 17 << 20]);
      } else if (r < 12) {
        this.#probe(s);
        continue;
      } else {
        const frame = this.maker.frame(s);
        this.stepKind = this.maker.kind;
        this.deliver(s.peer, frame);
      }
      this.settle();
    }
    this.finish();
  }

  dispose(): void {
    this.db.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /**
   * Whatever the fuzz did to it, a session still answers: a meta call gets its RESULT (or
   * ERROR) at once, unless the session was ended (ABORT, closed) or is waiting for the end
   * (told GOODBYE, or a failed authentication's delayed ABORT). Nothing hangs.
   */
  #probe(s: FuzzSession): void {
    this.stepKind = 'probe';
    const request = 2 ** 53 - this.step;
    const from = s.peer.messages.length;
    this.send(s.peer, [48, request, {}, 'wamp.session.count']);
    this.settle();
    const answered = s.peer.messages
      .slice(from)
      .some((m) => (m[0] === 50 && m[1] === request) || (m[0] === 8 && m[2] === request) || m[0] === 3);
    const waiting =
      s.peer.messages.some((m) => m[0] === 6) || (s.peer.handler as unknown as { state: string }).state === 'closing';
    if (!answered && !waiting && s.peer.closedBy === undefined)
      this.fail(`${s.peer.name} did not answer a CALL (nor end the session)`, s.peer);
  }

  #tick(): void {
    try {
      this.router.tick(this.scheduler.now);
    } catch (error) {
      this.fail(`tick() threw: ${(error as Error)?.stack ?? String(error)}`);
    }
  }

  #closed(peer: CorePeer): void {
    try {
      peer.handler.closed();
    } catch (error) {
      this.fail(`closed() threw: ${(error as Error)?.stack ?? String(error)}`, peer);
    }
  }

  /** After each step: transports report closes, bystanders answer, everything is checked. */
  settle(): void {
    if (this.deferred !== undefined) this.fail(this.deferred);
    if (this.errors.length > 0) this.fail(`the router logged an error: ${this.errors[0]}`);
    for (let round = 0; round < 50; round++) {
      let more = false;
      for (const peer of this.all) {
        // The transports report a close the core asked for later, never inside close().
        if (peer.closedBy !== undefined && !peer.transportGone) {
          peer.transportGone = true;
          this.#closed(peer);
        }
        if (this.#check(peer)) more = true;
      }
      const answered = answerBystanders(
        this.bystanders,
        this.rng,
        (peer, frame) => this.deliver(peer, frame),
        () => {
          this.stats.bystanderUnencodable++;
        },
      );
      if (answered) more = true;
      if (!more) return;
    }
    this.fail('the router and the bystanders kept messaging each other for 50 rounds');
  }

  /** Checks the frames the router sent since the last look; whether there were any. */
  #check(peer: CorePeer): boolean {
    const fresh = peer.checked < peer.frames.length;
    const bystander = peer.name.startsWith('bystander');
    for (; peer.checked < peer.frames.length; peer.checked++) {
      const frame = peer.frames[peer.checked]!;
      let value: unknown;
      try {
        value = peer.serializer.decode(frame);
      } catch (error) {
        this.fail(`${peer.name} got a frame it cannot decode (${String(error)}): ${hex(frame)}`, peer);
      }
      const parsed = parseMessage(value);
      if (parsed instanceof ProtocolViolation)
        this.fail(`${peer.name} got a malformed message (${parsed.message}): ${show(value)}`, peer);
      const m = value as unknown[];
      const code = m[0] as number;
      if (!ROUTER_TO_CLIENT.has(code))
        this.fail(`${peer.name} got message type ${code}, which a router does not send: ${show(m)}`, peer);
      if (peer.messages.length === 0 && code !== 2 && code !== 3 && code !== 4)
        this.fail(`${peer.name}'s first message is ${show(m)}, not WELCOME, CHALLENGE or ABORT`, peer);
      if (code === 2 && peer.messages.some((x) => x[0] === 2)) this.fail(`${peer.name} got a second WELCOME`, peer);
      if (peer.messages.some((x) => x[0] === 3)) this.fail(`${peer.name} got ${show(m)} after an ABORT`, peer);
      if (bystander && (code === 3 || code === 6)) this.fail(`a well-behaved bystander got ${show(m)}`, peer);
      peer.messages.push(m);
      observe(this, peer, m);
    }
    if (peer.sendsAfterClose > 0)
      this.fail(`${peer.name}: the router sent ${peer.sendsAfterClose} frame(s) after closing it`, peer);
    const last = peer.messages.at(-1);
    if (last?.[0] === 3 && peer.closedBy === undefined) this.fail(`${peer.name} got ABORT but was not closed`, peer);
    if (peer.closedBy !== undefined && !peer.closeExplained) {
      if (bystander) this.fail(`a well-behaved bystander was closed (${peer.closedBy})`, peer);
      peer.closeExplained = closeExplained(peer);
      if (!peer.closeExplained)
        this.fail(
          `${peer.name} was closed (${peer.closedBy}, in step ${peer.closedIn}) without ABORT or GOODBYE; client last sent ${show(peer.lastSent)}`,
          peer,
        );
    }
    return fresh;
  }

  /** Ends the fuzz sessions and checks the router is clean and still works. */
  finish(): void {
    this.stepKind = 'finish';
    for (const s of this.sessions) {
      if (!s.peer.transportGone) {
        s.peer.transportGone = true;
        this.#closed(s.peer);
      }
    }
    for (const b of this.bystanders)
      for (const request of b.held.splice(0)) this.send(b.peer, [70, request, {}, ['late']]);
    this.settle();
    this.scheduler.advance(24 * 3600_000);
    this.#tick();
    this.settle();
    if (this.errors.length > 0) this.fail(`the router logged errors:\n  ${this.errors.slice(0, 5).join('\n  ')}`);
    if (this.router.sessionCount !== this.bystanders.length)
      this.fail(`${this.router.sessionCount} sessions left, expected the ${this.bystanders.length} bystanders`);
    for (const [uri, realm] of this.router.realms) {
      const expected = uri === 'realm1' ? this.bystanders.length : 0;
      if (realm.sessions.size !== expected) {
        const leaked = [...realm.sessions.values()].flatMap((x) => {
          const { peer, state } = x as unknown as { peer: CorePeer; state: string };
          return peer.name.startsWith('bystander')
            ? []
            : [
                `${peer.name} (${state}; closed: ${peer.closedBy} in step ${peer.closedIn}; got ${show(peer.messages.map((m) => m[0]))})`,
              ];
        });
        this.fail(`realm ${uri} still has ${realm.sessions.size} sessions, expected ${expected}: ${leaked.join('; ')}`);
      }
    }

    checkStillServes(this);
  }
}
