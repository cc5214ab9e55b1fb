// Seeded fuzzing of everything a peer can send: the hand-written hostile suites beside this
// file check the cases someone thought of; this one throws thousands of mutated frames (WAMP
// test vectors and generated messages, broken at the value level and at the byte level) and
// checks the promises that must hold for any input:
//
//  The sans-IO core (Router + in-memory peers; fast, thousands of frames per serializer):
//   - receive(), closed(), tick() and the router's timers never throw, and nothing is logged as
//     an internal error;
//   - every frame the router sends decodes, in the peer's serialization, to a valid WAMP message
//     of a type a router may send (parseMessage accepts it); a session's first is WELCOME,
//     CHALLENGE or ABORT;
//   - the router closes a peer only with a reason the peer was told (ABORT, or GOODBYE), or for
//     one the contract names (a slow consumer, no HELLO in time, the client's own ABORT), and
//     sends nothing after an ABORT; an ABORT is always followed by the close;
//   - nothing hangs: a probe CALL (a meta procedure) is answered at once, unless the session
//     was ended or is waiting to be (told GOODBYE, a failed authentication's delayed ABORT);
//   - well-behaved sessions in the same realm (callees and subscribers in all three
//     serializations, which get the fuzzed payloads transcoded) are never disturbed;
//   - timers asked of the scheduler have sane delays, and their callbacks do not throw;
//   - afterwards the router is not wedged: no leaked sessions, registrations or
//     subscriptions, and fresh sessions can register+call and subscribe+publish.
//
//  Over real sockets: fuzz-sockets.test.ts.
//
// Seeds are fixed, so runs are reproducible; a failure names the seed, the step and the frame.
// FUZZ_EXTRA_SEEDS=n runs more of them, for a longer hunt on a developer's machine.

import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../src/log.ts';
import type { Authenticator } from '../../src/router/auth.ts';
import type { CloseReason, Peer, PeerHandler } from '../../src/router/peer.ts';
import { Router } from '../../src/router/router.ts';
import { ManualScheduler, type Scheduler } from '../../src/router/scheduler.ts';
import type { Serializer } from '../../src/serializers/index.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.ts';
import { parseMessage, ProtocolViolation } from '../../src/wamp/parse.ts';
import {
  DEEP,
  exoticBytes,
  mutateBytes,
  mutateValue,
  randomValue,
  Rng,
  vectorFrames,
  withDeepValue,
  withSplicedValue,
} from '../helpers/fuzz-input.ts';
import {
  ALL_ROLES,
  SERIALIZERS,
  ROUTER_TO_CLIENT,
  EXTRA_SEEDS,
  Violation,
  hex,
  runSeeds,
  show,
} from '../helpers/fuzz-checks.ts';

// =================================================================================================
// Part 1: the sans-IO core
// =================================================================================================

const CORE_SEEDS = [
  0x5eed_0001, 0x5eed_0002, 0x5eed_0003, 0x5eed_0004, 0x5eed_0005, 0x5eed_0006, 0x5eed_0007, 0x5eed_0008,
];
const CORE_STEPS = 1_000;
/** Fuzzed sessions alive at a time. */
const CORE_SESSIONS = 4;

/** A Peer that records what the router does to it; the checks read the record after each step. */
class CorePeer implements Peer {
  readonly serializer: Serializer;
  readonly info = { type: 'memory', peer: '127.0.0.1:1', local: true };
  readonly name: string;
  handler!: PeerHandler;
  /** Every frame the router sent, and how many of them the checks have looked at. */
  readonly frames: Uint8Array[] = [];
  checked = 0;
  /** Decoded and checked messages, in order. */
  readonly messages: unknown[][] = [];
  closedBy: CloseReason | undefined;
  /** The step in which the router closed us, and what kind of step it was. */
  closedIn: string | undefined;
  closeExplained = false;
  /** We told the core the transport is gone (deferred to after the step, as real transports do). */
  transportGone = false;
  sendsAfterClose = 0;
  buffered = 0;
  /** The last message this peer sent, as the core parsed it. */
  lastSent: unknown;
  #step: () => string;

  constructor(serializer: Serializer, name: string, step: () => string) {
    this.serializer = serializer;
    this.name = name;
    this.#step = step;
  }

  send(frame: Uint8Array): void {
    if (this.closedBy !== undefined) {
      this.sendsAfterClose++;
      return;
    }
    // Our own copy, whatever the router does with its buffer afterwards.
    this.frames.push(Uint8Array.from(frame));
  }

  bufferedAmount(): number {
    return this.buffered;
  }

  close(reason: CloseReason = 'normal'): void {
    if (this.closedBy !== undefined) return;
    this.closedBy = reason;
    this.closedIn = this.#step();
  }
}

/** Template kinds (CoreFuzz.template) for an established session: all but HELLO, AUTHENTICATE, GOODBYE/ABORT. */
const ROUTING = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18, 19];

/** A session under fuzz, and the IDs it has seen (so mutations also hit live state). */
interface FuzzSession {
  readonly peer: CorePeer;
  /** How often it sends a broken frame rather than a valid one: some sessions live long enough to build up state. */
  readonly hostility: number;
  welcomed: boolean;
  nextRequest: number;
  readonly ids: number[];
  readonly invocations: number[];
  readonly registrations: number[];
  readonly subscriptions: number[];
  readonly calls: number[];
}

/** A well-behaved client in realm1: callee of 'com' (prefix, round robin) and subscriber. */
interface Bystander {
  readonly peer: CorePeer;
  readonly held: number[];
  sessionId: number;
  /** How many of its messages it has acted on. */
  inboxAt: number;
}

function remember(list: number[], id: unknown, max = 40): void {
  if (typeof id === 'number' && Number.isInteger(id) && id > 0) {
    list.push(id);
    if (list.length > max) list.shift();
  }
}

class CoreFuzz {
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
  readonly seeds: Uint8Array[];
  /** Decoded seed frames that are lists, for value-level mutation. */
  readonly seedMessages: unknown[][];
  step = 0;
  stepKind = 'setup';
  lastFrame: Uint8Array | undefined;
  /** A violation seen inside a call into the core, reported once the call returns. */
  deferred: string | undefined;
  stats = {
    frames: 0,
    aborts: 0,
    welcomes: 0,
    results: 0,
    errors: 0,
    events: 0,
    invocations: 0,
    bystanderUnencodable: 0,
  };

  constructor(serializer: Serializer, seed: number) {
    this.serializer = serializer;
    this.seed = seed;
    this.rng = new Rng(seed);
    const routerRng = this.rng.fork();
    const scheduler = this.#checkedScheduler();
    let anonymous = 0;
    const authenticator: Authenticator = {
      hello: (info) => {
        if (info.authmethods.includes('ticket')) {
          return {
            type: 'challenge',
            authmethod: 'ticket',
            extra: {},
            pending: {
              authenticate: (m) =>
                m.signature === 'open sesame'
                  ? {
                      type: 'welcome',
                      identity: {
                        authid: info.authid ?? 'ticket-user',
                        authrole: 'user',
                        authmethod: 'ticket',
                        authprovider: 'fuzz',
                      },
                    }
                  : { type: 'abort', reason: 'wamp.error.authentication_failed', message: 'wrong ticket' },
            },
          };
        }
        if (!info.realm.anonymous || !info.authmethods.includes('anonymous')) {
          return { type: 'abort', reason: 'wamp.error.no_auth_method', message: 'anonymous or ticket' };
        }
        return {
          type: 'welcome',
          identity: {
            authid: `anonymous-${++anonymous}`,
            authrole: 'anonymous',
            authmethod: 'anonymous',
            authprovider: 'static',
          },
        };
      },
    };
    const record = (level: string) => (obj: object, msg?: string) => {
      this.errors.push(`${level}: ${msg ?? ''} ${show(obj, 1000)}`);
    };
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: record('error'),
      child: () => logger,
    };
    // The appliance's event store (retained events, history), as the router process uses it.
    this.dataDir = mkdtempSync(join(tmpdir(), 'wampmesh-fuzz-'));
    this.db = openDatabase(this.dataDir);
    this.db.pragma('synchronous = OFF'); // no fsync per retained event: the data is thrown away
    this.router = new Router({
      store: new SqliteEventStore(this.db),
      realms: [
        { uri: 'realm1', anonymous: true },
        {
          uri: 'realm2',
          anonymous: true,
          uriCheck: 'strict',
          callerDisclosure: 'always',
          publisherDisclosure: 'never',
          history: [{ topic: 'com', match: 'prefix', limit: 5, maxAgeMs: 60_000 }],
        },
        { uri: 'realm.auth', anonymous: false },
      ],
      now: () => this.scheduler.now,
      random: () => routerRng.next(),
      scheduler,
      logger,
      authenticator,
      authFailureDelayMs: 500,
    });
    this.seeds = [...vectorFrames(serializer)];
    this.seedMessages = [];
    for (const frame of this.seeds) {
      try {
        const v = serializer.decode(frame);
        if (Array.isArray(v)) this.seedMessages.push(v);
      } catch {
        /* a vector this serializer cannot read is still a fine byte-level seed */
      }
    }
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

  #peer(serializer: Serializer, name: string): CorePeer {
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
      const peer = this.#peer(s, `bystander/${s.name}`);
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
      peer: this.#peer(this.serializer, `fuzz#${this.all.length}`),
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

  /** A valid message for this session's state, so the fuzz drives the real routing paths. */
  template(s: FuzzSession): unknown[] {
    const rng = this.rng;
    const req = (): number => (rng.chance(0.05) && s.calls.length > 0 ? rng.pick(s.calls) : s.nextRequest++);
    const pickId = (list: number[]): number => (list.length > 0 && rng.chance(0.85) ? rng.pick(list) : 1 + rng.int(20));
    const payload = (m: unknown[]): unknown[] => {
      const r = rng.int(4);
      if (r === 0) return m;
      const args = Array.from({ length: rng.int(3) }, () => randomValue(rng));
      if (r === 1) return [...m, args];
      const kwargs: Record<string, unknown> = {};
      for (let i = rng.int(3); i > 0; i--) kwargs[rng.pick(['a', 'b', 'k', 'ppt'])] = randomValue(rng);
      return [...m, args, kwargs];
    };
    const own = `com.fuzz.own.${rng.int(4)}`;
    const procs = [
      own,
      own,
      'com.fuzz.echo',
      'com.fuzz.echo',
      'com.myapp.myprocedure1',
      'com',
      'com.nope',
      'nope.x',
      'wamp.session.count',
      'a..b',
    ];
    const topics = [
      'com.fuzz.topic',
      `com.fuzz.t.${rng.int(4)}`,
      'com.myapp.topic1',
      'wamp.session.on_join',
      'nope.t',
      'com..x',
    ];
    // Told GOODBYE (killed): a client answers it; the fuzz mostly does too.
    if (s.peer.messages.some((m) => m[0] === 6) && rng.chance(0.8)) return [6, {}, 'wamp.close.goodbye_and_out'];
    // Mostly what the state calls for (HELLO, AUTHENTICATE or giving up before WELCOME; no
    // session-enders after), and now and then anything at all.
    const kind = rng.chance(0.05)
      ? rng.int(20)
      : !s.welcomed
        ? rng.pick([0, 0, 1, 1, 14])
        : rng.chance(0.02)
          ? rng.pick([0, 1, 14])
          : rng.pick(ROUTING);
    switch (kind) {
      case 0: {
        const realm = rng.pick(['realm1', 'realm2', 'realm.auth', 'nope']);
        return [
          1,
          realm,
          {
            roles: rng.pick([ALL_ROLES, { caller: {} }, {}]),
            ...(rng.chance(0.3) && { authmethods: rng.pick([['ticket'], ['anonymous'], ['wampcra']]) }),
          },
        ];
      }
      case 1:
        return [5, rng.pick(['open sesame', 'wrong', '']), {}];
      case 2: {
        const options: Record<string, unknown> = {};
        if (rng.chance(0.4)) options.match = rng.pick(['exact', 'prefix', 'wildcard']);
        if (rng.chance(0.4)) options.invoke = rng.pick(['single', 'roundrobin', 'random', 'first', 'last']);
        return [64, req(), options, rng.chance(0.7) ? own : rng.pick(procs)];
      }
      case 3:
        return [66, req(), pickId(s.registrations)];
      case 4:
      case 5:
      case 17:
      case 18: {
        const request = req();
        remember(s.calls, request);
        const options: Record<string, unknown> = {};
        if (rng.chance(0.3)) options.receive_progress = true;
        if (rng.chance(0.15)) options.progress = true;
        if (rng.chance(0.2)) options.timeout = rng.pick([1, 100, 1_000, 60_000, 2 ** 31, 2 ** 40, 1e300]);
        if (rng.chance(0.15)) options.disclose_me = true;
        if (rng.chance(0.1)) {
          options.ppt_scheme = 'x_fuzz';
          options.ppt_serializer = 'native';
          return [48, request, options, rng.pick(procs), [rng.bytes(8)]];
        }
        return payload([48, request, options, rng.pick(procs)]);
      }
      case 6:
        return [49, pickId(s.calls), rng.chance(0.6) ? { mode: rng.pick(['skip', 'kill', 'killnowait']) } : {}];
      case 7:
      case 8:
        return payload([70, pickId(s.invocations), rng.chance(0.3) ? { progress: true } : {}]);
      case 9:
        return payload([
          8,
          68,
          pickId(s.invocations),
          {},
          rng.pick(['com.fuzz.error', 'wamp.error.canceled', 'wamp.error.runtime_error']),
        ]);
      case 10:
      case 11:
      case 19: {
        const options: Record<string, unknown> = {};
        if (rng.chance(0.5)) options.acknowledge = true;
        if (rng.chance(0.2)) options.exclude_me = false;
        if (rng.chance(0.2)) options.retain = true;
        if (rng.chance(0.1)) options.disclose_me = true;
        if (rng.chance(0.1)) options.eligible = s.ids.slice(-3);
        if (rng.chance(0.1)) options.exclude = s.ids.slice(-2);
        if (rng.chance(0.05)) options.eligible_authrole = ['anonymous'];
        return payload([16, req(), options, rng.pick(topics)]);
      }
      case 12: {
        const options: Record<string, unknown> = {};
        if (rng.chance(0.3)) options.match = rng.pick(['exact', 'prefix', 'wildcard']);
        if (rng.chance(0.3)) options.get_retained = true;
        return [32, req(), options, rng.pick(topics)];
      }
      case 13:
        return [34, req(), pickId(s.subscriptions)];
      case 14:
        return rng.chance(0.5) ? [6, {}, 'wamp.close.close_realm'] : [3, {}, 'wamp.error.fuzz'];
      default: {
        // The meta API (not the kill procedures: ending other sessions is allowed, not hostile).
        const request = req();
        const id = pickId(s.ids);
        const calls: unknown[][] = [
          ['wamp.session.count'],
          ['wamp.session.list', [['anonymous']]],
          ['wamp.session.get', [id]],
          [
            'wamp.session.add_testament',
            [rng.pick(topics), [randomValue(rng)], { k: randomValue(rng) }],
            { scope: rng.pick(['destroyed', 'detached', 'x']), publish_options: { retain: rng.chance(0.5) } },
          ],
          ['wamp.session.flush_testaments', [], { scope: rng.pick(['destroyed', 'detached']) }],
          ['wamp.registration.list'],
          ['wamp.registration.lookup', [rng.pick(procs), { match: 'prefix' }]],
          ['wamp.registration.match', [rng.pick(procs)]],
          ['wamp.registration.get', [id]],
          ['wamp.registration.list_callees', [id]],
          ['wamp.registration.count_callees', [id]],
          ['wamp.subscription.list'],
          ['wamp.subscription.lookup', [rng.pick(topics)]],
          ['wamp.subscription.match', [rng.pick(topics)]],
          ['wamp.subscription.get', [id]],
          ['wamp.subscription.list_subscribers', [id]],
          ['wamp.subscription.count_subscribers', [id]],
          ['wamp.subscription.get_events', [id, rng.int(5)]],
        ];
        const [proc, args, kwargs] = rng.pick(calls) as [string, unknown[]?, Record<string, unknown>?];
        return [
          48,
          request,
          {},
          proc,
          ...(args !== undefined ? [args] : []),
          ...(kwargs !== undefined ? [kwargs] : []),
        ];
      }
    }
  }

  /** The next fuzz frame for `s`: valid, mutated at the value level, or mutated at the byte level. */
  frame(s: FuzzSession): Uint8Array {
    const rng = this.rng;
    const encode = (m: unknown): Uint8Array | undefined => {
      try {
        return s.peer.serializer.encode(m as unknown[]);
      } catch {
        return undefined;
      }
    };
    if (!rng.chance(s.hostility)) {
      this.stepKind = 'valid';
      const f = encode(this.template(s));
      if (f !== undefined) return f;
    }
    const r = rng.int(100);
    if (r < 4) {
      // A valid message with one value nested up to 100,000 deep, anywhere in it.
      // Half of them in what the router keeps (a retained event, a testament to retain).
      this.stepKind = 'deep';
      const kept: unknown[][] = [
        [16, s.nextRequest++, { retain: true, acknowledge: true }, 'com.fuzz.topic', [DEEP]],
        [
          48,
          s.nextRequest++,
          {},
          'wamp.session.add_testament',
          ['com.fuzz.topic', [DEEP]],
          { publish_options: { retain: true } },
        ],
        [
          48,
          s.nextRequest++,
          {},
          'wamp.session.add_testament',
          ['com.fuzz.topic', [], { k: DEEP }],
          { scope: 'detached', publish_options: { retain: true } },
        ],
      ];
      const f = rng.chance(0.5)
        ? withDeepValue(rng, s.peer.serializer, rng.pick(kept), true)
        : withDeepValue(rng, s.peer.serializer, this.template(s));
      if (f !== undefined) return f;
    }
    if (r < 20) {
      // A valid message with a value our encoders never write (extensions, tags, cycles...).
      this.stepKind = 'exotic';
      const f = withSplicedValue(rng, s.peer.serializer, this.template(s), exoticBytes(rng, this.serializer.name));
      if (f !== undefined) return f;
    }
    if (r < 55) {
      this.stepKind = 'value';
      const base = rng.chance(0.6) ? this.template(s) : rng.pick(this.seedMessages);
      const f = encode(mutateValue(rng, base, s.ids));
      if (f !== undefined) return f;
    }
    this.stepKind = 'bytes';
    const base = rng.chance(0.5) ? rng.pick(this.seeds) : (encode(this.template(s)) ?? rng.pick(this.seeds));
    return mutateBytes(rng, this.serializer.name, base, rng.pick(this.seeds));
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
        this.deliver(s.peer, this.frame(s));
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
      if (this.#bystandersAnswer()) more = true;
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
      this.#observe(peer, m);
    }
    if (peer.sendsAfterClose > 0)
      this.fail(`${peer.name}: the router sent ${peer.sendsAfterClose} frame(s) after closing it`, peer);
    const last = peer.messages.at(-1);
    if (last?.[0] === 3 && peer.closedBy === undefined) this.fail(`${peer.name} got ABORT but was not closed`, peer);
    if (peer.closedBy !== undefined && !peer.closeExplained) {
      if (bystander) this.fail(`a well-behaved bystander was closed (${peer.closedBy})`, peer);
      peer.closeExplained = this.#explained(peer);
      if (!peer.closeExplained)
        this.fail(
          `${peer.name} was closed (${peer.closedBy}, in step ${peer.closedIn}) without ABORT or GOODBYE; client last sent ${show(peer.lastSent)}`,
          peer,
        );
    }
    return fresh;
  }

  /** The core's contract (peer.ts CloseReason, session.ts): why may the router have closed it? */
  #explained(peer: CorePeer): boolean {
    if (peer.messages.some((m) => m[0] === 3 || m[0] === 6)) return true; // told: ABORT, or GOODBYE
    if (peer.closedBy === 'slow_consumer') return peer.buffered > 1 << 20;
    // The client's own ABORT ends the session silently (spec: no reply to ABORT).
    if (!(peer.lastSent instanceof ProtocolViolation) && (peer.lastSent as { type?: number } | undefined)?.type === 3)
      return true;
    // No HELLO (or no AUTHENTICATE) in time: the transport is just closed.
    return (peer.closedIn ?? '').endsWith(' tick') && !peer.messages.some((m) => m[0] === 2);
  }

  /** Keeps the fuzz sessions' ID lists current. */
  #observe(peer: CorePeer, m: unknown[]): void {
    const code = m[0];
    if (code === 3) this.stats.aborts++;
    if (code === 50) this.stats.results++;
    if (code === 8) this.stats.errors++;
    if (code === 36) this.stats.events++;
    if (code === 68) this.stats.invocations++;
    const s = this.sessions.find((x) => x.peer === peer);
    if (s === undefined) return;
    switch (code) {
      case 2:
        s.welcomed = true;
        this.stats.welcomes++;
        remember(s.ids, m[1]);
        break;
      case 65:
        remember(s.registrations, m[2]);
        remember(s.ids, m[2]);
        break;
      case 33:
        remember(s.subscriptions, m[2]);
        remember(s.ids, m[2]);
        break;
      case 68:
        remember(s.invocations, m[1]);
        remember(s.ids, m[2]);
        break;
      case 36:
        remember(s.ids, m[2]);
        break;
      default:
        break;
    }
  }

  /** Bystanders answer INVOCATIONs (echo, error, or later) and INTERRUPTs; whether they sent anything. */
  #bystandersAnswer(): boolean {
    let sent = false;
    for (const b of this.bystanders) {
      const messages = b.peer.messages.slice(b.inboxAt);
      b.inboxAt = b.peer.messages.length;
      const reply = (m: unknown[]): void => {
        let frame: Uint8Array;
        try {
          frame = b.peer.serializer.encode(m);
        } catch {
          // What the router gave us cannot be written back in our own serialization.
          this.stats.bystanderUnencodable++;
          frame = b.peer.serializer.encode([8, 68, m[1], {}, 'com.fuzz.unencodable']);
        }
        this.deliver(b.peer, frame);
        sent = true;
      };
      for (const m of messages) {
        if (m[0] === 68) {
          const [, request, , details] = m as [number, number, number, Record<string, unknown>];
          if (details.progress === true) {
            remember(b.held, request, 100);
            continue;
          }
          const r = this.rng.int(10);
          if (r < 6) {
            if (details.receive_progress === true && this.rng.chance(0.4))
              reply([70, request, { progress: true }, ...m.slice(4)]);
            reply([70, request, {}, ...m.slice(4)]);
          } else if (r < 8) {
            reply([8, 68, request, {}, 'com.fuzz.error', ...m.slice(4)]);
          } else {
            remember(b.held, request, 100);
          }
        } else if (m[0] === 69) {
          const i = b.held.indexOf(m[1] as number);
          if (i >= 0) b.held.splice(i, 1);
          reply([8, 68, m[1], {}, 'wamp.error.canceled']);
        }
      }
      // Now and then a held call is answered late.
      if (b.held.length > 0 && this.rng.chance(0.05)) reply([70, b.held.shift(), {}, ['late']]);
    }
    return sent;
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

    // A fresh caller and callee in each serialization.
    const fresh = SERIALIZERS.map((s, i) => {
      const peer = this.#peer(s, `fresh/${s.name}`);
      this.send(peer, [1, 'realm1', { roles: ALL_ROLES }]);
      this.settle();
      if (peer.messages[0]?.[0] !== 2) this.fail(`a fresh ${s.name} session could not join`, peer);
      return { peer, i };
    });
    const [a, b, c] = fresh as [(typeof fresh)[0], (typeof fresh)[0], (typeof fresh)[0]];
    const expectFrom = (peer: CorePeer, what: string, ok: (m: unknown[]) => boolean): unknown[] => {
      this.settle();
      const m = peer.messages.find(ok);
      if (m === undefined) this.fail(`after the fuzz: ${what}`, peer);
      return m;
    };
    // Registrations and subscriptions left are the bystanders' (and the meta API's events).
    this.send(a.peer, [48, 100, {}, 'wamp.registration.list']);
    const regs = expectFrom(a.peer, 'wamp.registration.list answered', (m) => m[0] === 50 && m[1] === 100);
    const lists = (regs[3] as unknown[])[0] as Record<string, number[]>;
    if (lists.exact!.length !== 0 || lists.prefix!.length !== 1 || lists.wildcard!.length !== 0)
      this.fail(`registrations leaked: ${show(lists)}`);
    this.send(a.peer, [48, 101, {}, 'wamp.subscription.list']);
    const subs = expectFrom(a.peer, 'wamp.subscription.list answered', (m) => m[0] === 50 && m[1] === 101);
    const subLists = (subs[3] as unknown[])[0] as Record<string, number[]>;
    if (subLists.exact!.length !== 2 || subLists.prefix!.length !== 1 || subLists.wildcard!.length !== 0)
      this.fail(`subscriptions leaked: ${show(subLists)}`);

    const payload = [1, 'two', { three: [3] }, 2 ** 40];
    this.send(a.peer, [64, 1, {}, 'fresh.proc']);
    expectFrom(a.peer, 'REGISTER answered', (m) => m[0] === 65);
    this.send(b.peer, [48, 1, {}, 'fresh.proc', payload, { k: 'v' }]);
    const inv = expectFrom(a.peer, 'INVOCATION for the fresh call', (m) => m[0] === 68);
    this.send(a.peer, [70, inv[1], {}, inv[4], inv[5]]);
    const result = expectFrom(b.peer, 'RESULT for the fresh call', (m) => m[0] === 50 && m[1] === 1);
    if (show(result.slice(3)) !== show([payload, { k: 'v' }])) this.fail(`fresh call returned ${show(result)}`);

    this.send(c.peer, [32, 1, {}, 'fresh.topic']);
    expectFrom(c.peer, 'SUBSCRIBE answered', (m) => m[0] === 33);
    this.send(b.peer, [16, 2, { acknowledge: true }, 'fresh.topic', payload]);
    expectFrom(b.peer, 'PUBLISHED', (m) => m[0] === 17 && m[1] === 2);
    const event = expectFrom(c.peer, 'EVENT for the fresh publication', (m) => m[0] === 36);
    if (show(event[4]) !== show(payload)) this.fail(`fresh event carried ${show(event)}`);

    // And the bystanders, which lived through it all, still serve their prefix.
    this.send(c.peer, [48, 2, {}, 'com.fuzz.final', ['still here']]);
    for (
      let i = 0;
      i < 20 && !c.peer.messages.some((m) => (m[0] === 50 || m[0] === 8) && (m[1] === 2 || m[2] === 2));
      i++
    ) {
      for (const by of this.bystanders)
        for (const request of by.held.splice(0)) this.send(by.peer, [70, request, {}, ['still here']]);
      this.settle();
    }
    expectFrom(
      c.peer,
      'a call to the bystanders answered',
      (m) => (m[0] === 50 && m[1] === 2) || (m[0] === 8 && m[2] === 2),
    );
  }
}

const coreSeeds = [...CORE_SEEDS, ...Array.from({ length: EXTRA_SEEDS }, (_, i) => 0x5eed_1000 + i)];

function runCoreFuzz(t: ExecutionContext, serializer: Serializer): void {
  const started = performance.now();
  const totals = {
    frames: 0,
    aborts: 0,
    welcomes: 0,
    results: 0,
    errors: 0,
    events: 0,
    invocations: 0,
    bystanderUnencodable: 0,
  };
  const failures = runSeeds(
    coreSeeds,
    CORE_STEPS,
    (seed) => new CoreFuzz(serializer, seed),
    (fuzz) => {
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += fuzz.stats[k];
    },
  );
  t.log(
    `${serializer.name}: ${coreSeeds.length} seeds x ${CORE_STEPS} steps: ${show(totals)} in ${Math.round(performance.now() - started)} ms`,
  );
  for (const f of failures) t.fail(f);
  if (failures.length === 0) t.pass();
}

for (const serializer of SERIALIZERS) {
  test.serial(
    `core/${serializer.name}: mutated frames never throw, get well-formed answers, and leave the router working`,
    (t) => {
      runCoreFuzz(t, serializer);
    },
  );
}
