// The "realms" section of the configuration file: one entry per realm, with its access,
// URI rules, disclosure, event history and limits.

import { z } from 'zod';
import { isValidUri } from '../wamp/uris.ts';
import { defaultRealmLimits as rl } from '../router/limits.ts';
import { DEFAULT_HISTORY_MAX_TOPICS } from '../router/history-bounds.ts';
import { intIn } from './fields.ts';

/** One entry of "realms". */
export function realmSchema() {
  const disclosure = z.enum(['optional', 'always', 'never'], { error: 'expected "optional", "always" or "never"' });

  const historyRule = z.strictObject({
    topic: z.string().refine((s) => isValidUri(s, 'loose', true), { error: 'expected a topic URI or pattern' }),
    match: z
      .enum(['exact', 'prefix', 'wildcard'], { error: 'expected "exact", "prefix" or "wildcard"' })
      .default('exact'),
    // Per topic. 100 events of a sensor is minutes to hours of context at small cost.
    limit: intIn(1, 1_000_000).default(100),
    // Older events are dropped even below the limit; a day by default.
    maxAgeSec: intIn(1, 10 * 365 * 24 * 3600).default(24 * 3600),
    // Topics kept at once under the rule: a client publishing to ever new topics under a prefix
    // or wildcard rule replaces the least recently published one instead of filling the disk.
    // Why 1000: DEFAULT_HISTORY_MAX_TOPICS in src/router/history-bounds.ts.
    maxTopics: intIn(1, 1_000_000).default(DEFAULT_HISTORY_MAX_TOPICS),
  });

  return z.strictObject({
    // Loose URI rules (spec "URIs"), the same the router applies to a HELLO's realm.
    uri: z.string().refine((s) => isValidUri(s), {
      error: 'expected a WAMP URI: dot-separated components without spaces or "#", e.g. "realm1"',
    }),
    // Required, not defaulted: letting anyone in must be a decision written down.
    anonymous: z.boolean({ error: 'expected true or false (true lets clients join without authentication)' }),
    // Anonymous sessions come from loopback and Unix sockets only, unless this says "anywhere":
    // an explicit opt-in (logged as a warning at start) to unauthenticated access over the network.
    anonymousFrom: z.enum(['loopback', 'anywhere'], { error: 'expected "loopback" or "anywhere"' }).default('loopback'),
    // Rules for procedure and topic URIs. "loose" (any component without spaces, "." or "#")
    // accepts what existing clients use; "strict" (lowercase letters, digits, "_") is opt-in.
    uriCheck: z.enum(['loose', 'strict'], { error: 'expected "loose" or "strict"' }).default('loose'),
    // Caller/publisher identification: disclosed when the client asks (the spec's default),
    // always (auditing), or never (privacy: a request to disclose is refused).
    callerDisclosure: disclosure.default('optional'),
    publisherDisclosure: disclosure.default('optional'),
    // Topics whose events are kept for wamp.subscription.get_events, in SQLite. None by default:
    // every kept event is a disk write on an SD card.
    history: z.array(historyRule).default([]),
    // What one session and the whole realm may make the router hold; beyond it the request gets
    // ERROR wampmesh.error.limit_exceeded. Defaults, and why: src/router/limits.ts.
    limits: z
      .strictObject({
        maxPendingCallsPerSession: intIn(1, 1_000_000).default(rl.maxPendingCallsPerSession),
        maxPendingCalls: intIn(1, 10_000_000).default(rl.maxPendingCalls),
        maxSubscriptionsPerSession: intIn(1, 1_000_000).default(rl.maxSubscriptionsPerSession),
        maxRegistrationsPerSession: intIn(1, 1_000_000).default(rl.maxRegistrationsPerSession),
        maxRetainedTopicsPerSession: intIn(0, 1_000_000).default(rl.maxRetainedTopicsPerSession),
        // 0: no testaments (nor MQTT wills) in the realm.
        maxTestamentsPerSession: intIn(0, 1_000_000).default(rl.maxTestamentsPerSession),
      })
      .prefault({}),
    // Who may call wamp.session.kill, kill_by_authid, kill_by_authrole and kill_all: sessions with
    // authrole "admin" (the default: one misbehaving local process must not be able to end every
    // other session), or "all" sessions (the spec's open meta API; grants still apply).
    metaKill: z.enum(['admin', 'all'], { error: 'expected "admin" or "all"' }).default('admin'),
  });
}
