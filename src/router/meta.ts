// The WAMP meta API of one realm (spec "Session Meta API", "Registration Meta API",
// "Subscription Meta API", "Testament"): procedures served by the router itself and meta events.

import type { Dict } from '../wamp/messages.ts';
import { isId } from '../wamp/ids.ts';
import { ErrorUri, isValidUri } from '../wamp/uris.ts';
import type { Broker, BrokerEvents } from './broker.ts';
import type { Subscription } from './subscription.ts';
import type { Dealer, DealerEvents } from './dealer.ts';
import type { LocalResult } from './local-procedures.ts';
import type { Registration } from './registrations.ts';
import { matchPolicies, type MatchPolicy } from './uri-table.ts';
import type { Target } from './target.ts';
import { Testaments, type LeaveReason, type TestamentEnvironment, type TestamentRealm } from './testaments.ts';

export type { LeaveReason } from './testaments.ts';

/** What the meta API sees of its realm. */
export interface MetaRealm extends TestamentRealm {
  /** Read on every kill call: the option changes with the realm's configuration. */
  readonly config: { readonly metaKill?: 'admin' | 'all' };
  readonly dealer: Dealer;
  readonly broker: Broker;
  readonly sessions: ReadonlyMap<number, Target>;
}

const NO_SUCH_SESSION = 'wamp.error.no_such_session';
/** The authrole that may end other sessions unless the realm's metaKill is "all". */
export const ADMIN_ROLE = 'admin';
const KILL_PROCEDURES = [
  'wamp.session.kill',
  'wamp.session.kill_by_authid',
  'wamp.session.kill_by_authrole',
  'wamp.session.kill_all',
];

export class MetaApi {
  readonly #realm: MetaRealm;
  readonly #testaments: Testaments;
  /** Called after any change to what the realm serves (the mesh re-advertises). */
  readonly #interestsChanged: () => void;

  constructor(realm: MetaRealm, interestsChanged: () => void, env: TestamentEnvironment) {
    this.#realm = realm;
    this.#interestsChanged = interestsChanged;
    this.#testaments = new Testaments(realm, env);
  }

  readonly registrationEvents: DealerEvents = {
    created: (s, r) => this.#emit('wamp.registration.on_create', [s.id, registrationDetails(r)]),
    registered: (s, r) => {
      this.#interestsChanged();
      this.#emit('wamp.registration.on_register', [s.id, r.id]);
    },
    unregistered: (s, r) => {
      this.#interestsChanged();
      this.#emit('wamp.registration.on_unregister', [s.id, r.id]);
    },
    deleted: (s, r) => this.#emit('wamp.registration.on_delete', [s.id, r.id]),
  };

  readonly subscriptionEvents: BrokerEvents = {
    created: (s, sub) => {
      this.#interestsChanged();
      this.#emit('wamp.subscription.on_create', [s.id, subscriptionDetails(sub)]);
    },
    subscribed: (s, sub) => this.#emit('wamp.subscription.on_subscribe', [s.id, sub.id]),
    unsubscribed: (s, sub) => this.#emit('wamp.subscription.on_unsubscribe', [s.id, sub.id]),
    deleted: (s, sub) => {
      this.#interestsChanged();
      this.#emit('wamp.subscription.on_delete', [s.id, sub.id]);
    },
  };

  joined(session: Target): void {
    this.#emit('wamp.session.on_join', [session.details()]);
  }

  left(session: Target, reason: LeaveReason): void {
    this.#testaments.left(session, reason);
    this.#emit('wamp.session.on_leave', [session.id, session.authid, session.authrole]);
  }

  install(): void {
    const realm = this.#realm;
    const dealer = realm.dealer;
    const broker = realm.broker;
    // Ending other sessions is for administrators unless the realm says otherwise (metaKill):
    // in an anonymous realm any local process could otherwise end every other session.
    const add = (name: string, fn: (caller: Target, args: unknown[], kwargs: Dict) => LocalResult) =>
      dealer.addLocalProcedure(
        name,
        !KILL_PROCEDURES.includes(name)
          ? fn
          : (caller, args, kwargs) =>
              caller.authrole === ADMIN_ROLE || realm.config.metaKill === 'all'
                ? fn(caller, args, kwargs)
                : {
                    error: ErrorUri.NOT_AUTHORIZED,
                    args: [
                      `${name} is for sessions with authrole '${ADMIN_ROLE}' in realm '${realm.uri}' (realm option metaKill)`,
                    ],
                  },
      );
    const sessionsOf = (roles: unknown) => {
      const all = [...realm.sessions.values()];
      return Array.isArray(roles) ? all.filter((s) => roles.includes(s.authrole)) : all;
    };
    // Spec "Session Meta API": reason defaults to wamp.close.normal; an invalid one is an error.
    type KillOptions = { reason: string; message: string | undefined };
    const killOptions = (kwargs: Dict): KillOptions | { error: string; args: unknown[] } => {
      const reason = kwargs.reason ?? 'wamp.close.normal';
      if (typeof reason !== 'string' || !isValidUri(reason))
        return { error: ErrorUri.INVALID_URI, args: ['reason must be a URI'] };
      if (kwargs.message !== undefined && typeof kwargs.message !== 'string')
        return { error: ErrorUri.INVALID_ARGUMENT, args: ['message must be a string'] };
      return { reason, message: kwargs.message as string | undefined };
    };
    const killAll = (targets: Target[], options: KillOptions) => {
      for (const t of targets) t.kill(options.reason, options.message);
      return targets;
    };

    add('wamp.session.count', (_c, args) => ({ args: [sessionsOf(args[0]).length] }));
    add('wamp.session.list', (_c, args) => ({ args: [sessionsOf(args[0]).map((s) => s.id)] }));
    add('wamp.session.get', (_c, args) => {
      const s = isId(args[0]) ? realm.sessions.get(args[0]) : undefined;
      return s === undefined ? { error: NO_SUCH_SESSION } : { args: [s.details()] };
    });
    add('wamp.session.kill', (caller, args, kwargs): LocalResult => {
      const s = isId(args[0]) ? realm.sessions.get(args[0]) : undefined;
      // The caller's own session is not a session it may kill: same answer as an unknown one.
      if (s === undefined || s === caller) return { error: NO_SUCH_SESSION };
      const options = killOptions(kwargs);
      if ('error' in options) return options;
      killAll([s], options);
      return {};
    });
    add('wamp.session.kill_by_authid', (caller, args, kwargs) => {
      if (typeof args[0] !== 'string') return { error: ErrorUri.INVALID_ARGUMENT, args: ['authid must be a string'] };
      const options = killOptions(kwargs);
      if ('error' in options) return options;
      return {
        args: [
          killAll(
            sessionsOf(undefined).filter((s) => s.authid === args[0] && s !== caller),
            options,
          ).map((s) => s.id),
        ],
      };
    });
    add('wamp.session.kill_by_authrole', (caller, args, kwargs) => {
      if (typeof args[0] !== 'string') return { error: ErrorUri.INVALID_ARGUMENT, args: ['authrole must be a string'] };
      const options = killOptions(kwargs);
      if ('error' in options) return options;
      return {
        args: [
          killAll(
            sessionsOf(undefined).filter((s) => s.authrole === args[0] && s !== caller),
            options,
          ).length,
        ],
      };
    });
    add('wamp.session.kill_all', (caller, _args, kwargs) => {
      const options = killOptions(kwargs);
      if ('error' in options) return options;
      return {
        args: [
          killAll(
            sessionsOf(undefined).filter((s) => s !== caller),
            options,
          ).length,
        ],
      };
    });
    add('wamp.session.add_testament', (caller, args, kwargs) => this.#testaments.add(caller, args, kwargs));
    add('wamp.session.flush_testaments', (caller, _args, kwargs) => this.#testaments.flush(caller, kwargs));

    const byPolicy = <T extends { id: number; match: MatchPolicy }>(items: Iterable<T>) => {
      const out: Record<MatchPolicy, number[]> = { exact: [], prefix: [], wildcard: [] };
      for (const item of items) out[item.match].push(item.id);
      return out;
    };
    const matchOption = (v: unknown): MatchPolicy | undefined => {
      const m = isDict(v) ? (v.match ?? 'exact') : 'exact';
      return (matchPolicies as readonly unknown[]).includes(m) ? (m as MatchPolicy) : undefined;
    };
    const registrationArg = (args: unknown[]) => (isId(args[0]) ? dealer.registration(args[0]) : undefined);
    add('wamp.registration.list', () => ({ args: [byPolicy(dealer.registrations())] }));
    add('wamp.registration.lookup', (_c, args) => {
      const match = matchOption(args[1]);
      if (typeof args[0] !== 'string' || match === undefined) return { error: ErrorUri.INVALID_ARGUMENT };
      return { args: [dealer.lookup(args[0], match)?.id ?? null] };
    });
    add('wamp.registration.match', (_c, args) => {
      if (typeof args[0] !== 'string') return { error: ErrorUri.INVALID_ARGUMENT };
      return { args: [dealer.match(args[0])?.id ?? null] };
    });
    add('wamp.registration.get', (_c, args) => {
      const r = registrationArg(args);
      return r === undefined ? { error: ErrorUri.NO_SUCH_REGISTRATION } : { args: [registrationDetails(r)] };
    });
    add('wamp.registration.list_callees', (_c, args) => {
      const r = registrationArg(args);
      // A callee on another router by its session ID there (its ID here is the mesh's own alias).
      return r === undefined
        ? { error: ErrorUri.NO_SUCH_REGISTRATION }
        : { args: [r.callees.map((c) => (c.remote === true ? (c.details().session ?? c.id) : c.id))] };
    });
    add('wamp.registration.count_callees', (_c, args) => {
      const r = registrationArg(args);
      return r === undefined ? { error: ErrorUri.NO_SUCH_REGISTRATION } : { args: [r.callees.length] };
    });

    const subscriptionArg = (args: unknown[]) => (isId(args[0]) ? broker.subscription(args[0]) : undefined);
    add('wamp.subscription.list', () => ({ args: [byPolicy(broker.subscriptions())] }));
    add('wamp.subscription.lookup', (_c, args) => {
      const match = matchOption(args[1]);
      if (typeof args[0] !== 'string' || match === undefined) return { error: ErrorUri.INVALID_ARGUMENT };
      return { args: [broker.lookup(args[0], match)?.id ?? null] };
    });
    add('wamp.subscription.match', (_c, args) => {
      if (typeof args[0] !== 'string') return { error: ErrorUri.INVALID_ARGUMENT };
      const ids = broker.match(args[0]).map((s) => s.id);
      return { args: [ids.length > 0 ? ids : null] };
    });
    add('wamp.subscription.get', (_c, args) => {
      const s = subscriptionArg(args);
      return s === undefined ? { error: ErrorUri.NO_SUCH_SUBSCRIPTION } : { args: [subscriptionDetails(s)] };
    });
    add('wamp.subscription.list_subscribers', (_c, args) => {
      const s = subscriptionArg(args);
      return s === undefined ? { error: ErrorUri.NO_SUCH_SUBSCRIPTION } : { args: [[...s.subscribers.keys()]] };
    });
    add('wamp.subscription.count_subscribers', (_c, args) => {
      const s = subscriptionArg(args);
      return s === undefined ? { error: ErrorUri.NO_SUCH_SUBSCRIPTION } : { args: [s.subscribers.size] };
    });
    add('wamp.subscription.get_events', (caller, args, kwargs) => {
      const s = subscriptionArg(args);
      if (s === undefined) return { error: ErrorUri.NO_SUCH_SUBSCRIPTION };
      const limitArg = args[1] ?? kwargs.limit ?? 10;
      if (typeof limitArg !== 'number' || !Number.isInteger(limitArg) || limitArg < 1)
        return { error: ErrorUri.INVALID_ARGUMENT, args: ['limit must be a positive integer'] };
      // The newest `limit`, oldest first; reverse: true gives newest first.
      const chosen = broker.history(s, caller, limitArg);
      if (chosen === undefined)
        return { error: 'wamp.error.history_unavailable', args: [`no event history is kept for '${s.topic}'`] };
      if (kwargs.reverse === true) chosen.reverse();
      return {
        args: [
          chosen.map((e) => ({
            timestamp: new Date(e.timestamp).toISOString(),
            subscription: s.id,
            publication: e.publication,
            topic: e.topic,
            details: e.details,
            ...(e.args !== undefined && { args: e.args }),
            ...(e.kwargs !== undefined && { kwargs: e.kwargs }),
          })),
        ],
      };
    });
  }

  #emit(topic: string, args: unknown[]): void {
    // Meta events are built only when someone listens: joins and registrations are hot paths.
    if (this.#realm.broker.hasSubscribers(topic)) this.#realm.broker.emit(topic, args);
  }
}

function registrationDetails(r: Registration): Dict {
  return { id: r.id, created: new Date(r.created).toISOString(), uri: r.procedure, match: r.match, invoke: r.invoke };
}

function subscriptionDetails(s: Subscription): Dict {
  return { id: s.id, created: new Date(s.created).toISOString(), uri: s.topic, match: s.match };
}

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}
