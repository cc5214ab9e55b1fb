// The bounds of event history and of one read of it, shared by the Broker, the memory store and
// the SQLite store (which import this, and not each other).

import type { MatchPolicy } from './uri-table.ts';

/**
 * What one history rule lets the router keep. Everything a client can add to the history is
 * bounded by these: `limit` events per topic, `maxTopics` topics per rule (a client publishing
 * to ever new topics under a prefix or wildcard rule replaces the rule's least recently
 * published topic instead of growing the database), and no event older than `maxAgeMs`.
 */
export interface HistoryBounds {
  /** Names the rule ("prefix com.app." say): its topics are counted and aged together. */
  readonly rule: string;
  readonly limit: number;
  readonly maxAgeMs: number;
  readonly maxTopics: number;
}

/**
 * Topics per history rule unless configured. 1000 covers a rule over per-device topics of a
 * site (one topic per sensor or machine) while keeping what one rule can hold on disk to
 * 1000 x `limit` events (at the default 100 events of a few hundred bytes, some tens of MB).
 */
export const DEFAULT_HISTORY_MAX_TOPICS = 1000;

/**
 * At most this many kept events, newest first over the topics a read covers, are considered by
 * one history read (a get_events call): what a call with a huge limit, or one whose reader may
 * see few of the events (black/whitelisting, age), costs the router before it answers with what
 * it found. Ten times the gateway's replay (sseReplayMax, 1000), so a replay is whole unless
 * most events are filtered out; at the cap, up to 0.15 s when all 10,000 are decoded and
 * answered, instead of a read of the whole history while every other session waits.
 */
export const HISTORY_READ_MAX_ROWS = 10_000;

/** Which kept topics a history read covers: a subscription's topic and match policy. */
export interface TopicPattern {
  readonly topic: string;
  readonly match: MatchPolicy;
}

/** What adoptHistory deleted: topics no rule covers any more, and what the rules' bounds cut. */
export interface HistoryAdoption {
  readonly uncovered: { readonly topics: number; readonly events: number; readonly examples: readonly string[] };
  readonly bounded: { readonly topics: number; readonly events: number };
}

/** How many uncovered topics an adoption names (the rest are counted). */
export const ADOPTION_EXAMPLES = 10;
