// The mapping between MQTT topics and WAMP topic URIs: levels become URI components
// ("a/b/c" <-> "a.b.c"), "+" a wildcard component, a trailing "#" a prefix. What one side
// cannot say without changing its meaning is refused, never rewritten: a level holding ".",
// "#" or whitespace, an empty level, or "+" and "#" in one filter.

import type { MatchPolicy } from '../router/uri-table.ts';
import { isMqttString } from './packet-size.ts';
import { Reason } from './reason-codes.ts';

/** One WAMP subscription an MQTT topic filter stands for. */
export interface WampFilter {
  readonly topic: string;
  readonly match: MatchPolicy;
}

export type Mapped<T> = { ok: true; value: T } | { ok: false; reason: number; message: string };

const refuse = <T>(reason: number, message: string): Mapped<T> => ({ ok: false, reason, message });

// A level WAMP can carry as a URI component: no ".", "#", "+" or whitespace, not empty.
const LEVEL = /^[^\s.#+]+$/;

/** An MQTT topic name (of a PUBLISH) as a WAMP topic URI. */
export function topicToUri(topic: string): Mapped<string> {
  if (topic.length === 0) return refuse(Reason.TOPIC_NAME_INVALID, 'empty topic name');
  if (topic.startsWith('$'))
    return refuse(Reason.TOPIC_NAME_INVALID, `topics starting with "$" are reserved: '${topic}'`);
  const levels = topic.split('/');
  for (const level of levels) {
    if (!LEVEL.test(level))
      return refuse(
        Reason.TOPIC_NAME_INVALID,
        `topic '${topic}' has a level WAMP cannot carry (empty, or with ".", "#", "+" or whitespace)`,
      );
  }
  return { ok: true, value: levels.join('.') };
}

/**
 * An MQTT topic filter as the WAMP subscriptions that together match the same topics. "a/#"
 * matches "a" itself as well as everything below it, so it takes two: exact "a" and prefix "a.".
 */
export function filterToWamp(filter: string): Mapped<WampFilter[]> {
  if (filter.length === 0) return refuse(Reason.TOPIC_FILTER_INVALID, 'empty topic filter');
  if (filter.startsWith('$share/'))
    return refuse(Reason.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED, 'shared subscriptions are not supported');
  if (filter.startsWith('$'))
    return refuse(Reason.TOPIC_FILTER_INVALID, `topics starting with "$" are reserved: '${filter}'`);
  const levels = filter.split('/');
  const multi = levels.at(-1) === '#';
  if (multi) levels.pop();
  let wildcard = false;
  for (const level of levels) {
    if (level === '+') {
      wildcard = true;
      continue;
    }
    if (level.includes('#') || level.includes('+'))
      return refuse(Reason.TOPIC_FILTER_INVALID, `'${filter}' is not a valid topic filter`);
    if (!LEVEL.test(level))
      return refuse(
        Reason.TOPIC_FILTER_INVALID,
        `filter '${filter}' has a level WAMP cannot carry (empty, or with "." or whitespace)`,
      );
  }
  if (multi && wildcard)
    return refuse(
      Reason.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED,
      `'${filter}': "+" and "#" in one filter have no WAMP equivalent`,
    );
  const uri = levels.map((l) => (l === '+' ? '' : l)).join('.');
  if (wildcard) return { ok: true, value: [{ topic: uri, match: 'wildcard' }] };
  if (!multi) return { ok: true, value: [{ topic: uri, match: 'exact' }] };
  // "#" alone: every topic (the empty prefix).
  if (levels.length === 0) return { ok: true, value: [{ topic: '', match: 'prefix' }] };
  return {
    ok: true,
    value: [
      { topic: uri, match: 'exact' },
      { topic: `${uri}.`, match: 'prefix' },
    ],
  };
}

/**
 * A WAMP topic URI as an MQTT topic name; undefined when a component holds "/" or "+", which
 * would read as other levels or a wildcard, or when the name is no MQTT string (over 65535
 * UTF-8 bytes: WAMP URIs have no such bound). Such an event is not delivered to MQTT clients.
 */
export function uriToTopic(uri: string): string | undefined {
  if (uri.length === 0 || uri.includes('/') || uri.includes('+') || !isMqttString(uri)) return undefined;
  return uri.split('.').join('/');
}
