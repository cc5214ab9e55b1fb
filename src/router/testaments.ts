// Testaments (spec "Testament Meta API"): events a session leaves with the router, published for
// it when it is lost or killed. A testament is a deferred PUBLISH, so it passes what a PUBLISH
// passes, and at both ends: when added, the topic a client may publish to (not "wamp.", the
// router's meta events), the session's publish grant, and the per-session limits; when
// published, the grant again, since it may have been revoked while the session lived. MQTT
// wills are testaments (src/mqtt/will.ts), so the same holds for them.

import type { Logger } from '../log.ts';
import type { Dict } from '../wamp/messages.ts';
import { isDict } from '../wamp/parse.ts';
import { ErrorUri } from '../wamp/uris.ts';
import { grantRequest, refusalText, type Authorizer } from './authorization.ts';
import type { Broker } from './broker.ts';
import { LIMIT_EXCEEDED, limitMessage, type LimitKind, type RealmLimits } from './limits.ts';
import type { LocalResult } from './local-procedures.ts';
import type { Target } from './target.ts';

/** Why a session left: testaments are published only when it did not leave in good order. */
export type LeaveReason = 'goodbye' | 'shutdown' | 'lost' | 'killed';

/** What testaments need of their realm. */
export interface TestamentRealm {
  readonly uri: string;
  readonly broker: Broker;
  readonly limits: RealmLimits;
}

/** What testaments need of the router: the authorizer PUBLISH asks, the realm's limit reports. */
export interface TestamentEnvironment {
  readonly authorizer: Authorizer;
  readonly logger: Logger;
  /** Told of each testament refused by a limit (the realm logs and counts). */
  limitExceeded(kind: LimitKind, session: Target): void;
}

interface Testament {
  topic: string;
  args?: unknown[];
  kwargs?: Dict;
  retain: boolean;
}
type Scope = 'destroyed' | 'detached';

/** The call's `scope` ("destroyed" unless given), undefined for any other value. */
function scopeOf(kwargs: Dict): Scope | undefined {
  const scope = kwargs.scope ?? 'destroyed';
  return scope === 'destroyed' || scope === 'detached' ? scope : undefined;
}
const BAD_SCOPE: LocalResult = { error: ErrorUri.INVALID_ARGUMENT, args: ['scope must be destroyed or detached'] };

export class Testaments {
  readonly #realm: TestamentRealm;
  readonly #env: TestamentEnvironment;
  readonly #bySession = new Map<number, Record<Scope, Testament[]>>();

  constructor(realm: TestamentRealm, env: TestamentEnvironment) {
    this.#realm = realm;
    this.#env = env;
  }

  /** wamp.session.add_testament: refused with the ERROR a PUBLISH to the topic would get. */
  add(caller: Target, args: unknown[], kwargs: Dict): LocalResult {
    const [topic, targs, tkwargs] = args;
    if (typeof topic !== 'string')
      return { error: ErrorUri.INVALID_URI, args: ['testament topic must be a valid URI'] };
    // In the order of a PUBLISH: the grant (session-routing.ts), then the URI (the Broker).
    const check = grantRequest(this.#realm.uri, caller, 'publish', topic, 'exact');
    if (!this.#env.authorizer.authorize(check)) return { error: ErrorUri.NOT_AUTHORIZED, args: [refusalText(check)] };
    if (!this.#realm.broker.publishable(topic))
      return { error: ErrorUri.INVALID_URI, args: [`invalid testament topic URI '${topic}'`] };
    const options = isDict(kwargs.publish_options) ? kwargs.publish_options : {};
    const scope = scopeOf(kwargs);
    if (scope === undefined) return BAD_SCOPE;
    const retain = options.retain === true;
    const held = this.#bySession.get(caller.id);
    const limits = this.#realm.limits;
    if ((held?.destroyed.length ?? 0) + (held?.detached.length ?? 0) >= limits.maxTestamentsPerSession) {
      this.#env.limitExceeded('maxTestamentsPerSession', caller);
      return {
        error: LIMIT_EXCEEDED,
        args: [limitMessage('maxTestamentsPerSession', limits.maxTestamentsPerSession)],
      };
    }
    if (retain && !this.#realm.broker.reserveRetained(caller)) {
      return {
        error: LIMIT_EXCEEDED,
        args: [limitMessage('maxRetainedTopicsPerSession', limits.maxRetainedTopicsPerSession)],
      };
    }
    this.#of(caller)[scope].push({
      topic,
      retain,
      ...(Array.isArray(targs) && { args: targs }),
      ...(isDict(tkwargs) && { kwargs: tkwargs }),
    });
    return {};
  }

  /** wamp.session.flush_testaments: the scope's testaments are dropped; their retained topics freed. */
  flush(caller: Target, kwargs: Dict): LocalResult {
    const scope = scopeOf(kwargs);
    if (scope === undefined) return BAD_SCOPE;
    const list = this.#bySession.get(caller.id)?.[scope] ?? [];
    const n = list.length;
    this.#realm.broker.releaseRetained(caller, list.filter((t) => t.retain).length);
    list.length = 0;
    return { args: [n] };
  }

  /**
   * The session left: its testaments are published when it was lost or killed, each only if
   * the session may still publish to its topic; a GOODBYE discards them.
   */
  left(session: Target, reason: LeaveReason): void {
    const testaments = this.#bySession.get(session.id);
    this.#bySession.delete(session.id);
    if (testaments === undefined || (reason !== 'lost' && reason !== 'killed')) return;
    // Without session resumption a detach is the end of the session, so both scopes are
    // published, detached first (spec).
    for (const t of [...testaments.detached, ...testaments.destroyed]) {
      const check = grantRequest(this.#realm.uri, session, 'publish', t.topic, 'exact');
      if (!this.#env.authorizer.authorize(check)) {
        this.#env.logger.warn(
          { realm: this.#realm.uri, session: session.id, authid: session.authid, topic: t.topic },
          'testament not published: the session may no longer publish to its topic',
        );
        continue;
      }
      this.#realm.broker.emit(t.topic, t.args, t.kwargs, { retain: t.retain });
    }
  }

  #of(session: Target): Record<Scope, Testament[]> {
    let t = this.#bySession.get(session.id);
    if (t === undefined) this.#bySession.set(session.id, (t = { destroyed: [], detached: [] }));
    return t;
  }
}
