// The frames the core fuzz (fuzz-core.test.ts) sends: a valid message for the session's state
// (so the real routing paths run), or one broken at the value or byte level.

import type { Serializer } from '../../src/serializers/index.ts';
import {
  DEEP,
  exoticBytes,
  mutateBytes,
  mutateValue,
  randomValue,
  type Rng,
  withDeepValue,
  withSplicedValue,
} from '../helpers/fuzz-input.ts';
import { ALL_ROLES } from '../helpers/fuzz-checks.ts';
import { type Corpus, seedCorpus } from './fuzz-corpus.ts';
import { type FuzzSession, remember } from './fuzz-core-peer.ts';

/** Template kinds (FrameMaker.template) for an established session: all but HELLO, AUTHENTICATE, GOODBYE/ABORT. */
const ROUTING = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18, 19];

/** Makes a seed's frames from its random source. */
export class FrameMaker {
  readonly rng: Rng;
  readonly serializer: Serializer;
  readonly corpus: Corpus;
  /** What the last frame() made: valid, deep, exotic, value or bytes. */
  kind = '';

  constructor(rng: Rng, serializer: Serializer) {
    this.rng = rng;
    this.serializer = serializer;
    this.corpus = seedCorpus(serializer);
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
      this.kind = 'valid';
      const f = encode(this.template(s));
      if (f !== undefined) return f;
    }
    const r = rng.int(100);
    if (r < 4) {
      // A valid message with one value nested up to 100,000 deep, anywhere in it.
      // Half of them in what the router keeps (a retained event, a testament to retain).
      this.kind = 'deep';
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
      this.kind = 'exotic';
      const f = withSplicedValue(rng, s.peer.serializer, this.template(s), exoticBytes(rng, this.serializer.name));
      if (f !== undefined) return f;
    }
    if (r < 55) {
      this.kind = 'value';
      const base = rng.chance(0.6) ? this.template(s) : rng.pick(this.corpus.messages);
      const f = encode(mutateValue(rng, base, s.ids));
      if (f !== undefined) return f;
    }
    this.kind = 'bytes';
    const base = rng.chance(0.5)
      ? rng.pick(this.corpus.frames)
      : (encode(this.template(s)) ?? rng.pick(this.corpus.frames));
    return mutateBytes(rng, this.serializer.name, base, rng.pick(this.corpus.frames));
  }
}
