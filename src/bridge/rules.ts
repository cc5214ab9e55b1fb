// Which WAMP events a bridge takes out, and under which MQTT topic; and which WAMP topic an MQTT
// message brought in is published to. Pure functions of the configured rules.

import { topicToUri, uriToTopic } from '../mqtt/topics.ts';
import { uriMatches, type MatchPolicy } from '../router/uri-table.ts';

export interface OutMatch {
  readonly wamp: string;
  readonly match: MatchPolicy;
  readonly mqtt: string;
  readonly qos: number;
  readonly retain?: boolean;
}

/** Set in an outbox row's qos when the MQTT message is to be retained. */
export const RETAIN = 4;

/** The destination of a WAMP event under the first rule that takes it (qos with RETAIN), or undefined. */
export function outDestination(
  rules: readonly OutMatch[],
  topic: string,
): { dest: string; qos: number } | { unmappable: string } | undefined {
  for (const rule of rules) {
    if (!uriMatches(rule.wamp, rule.match, topic)) continue;
    const qos = rule.qos | (rule.retain === true ? RETAIN : 0);
    if (rule.match === 'exact' && !rule.mqtt.endsWith('/') && rule.mqtt !== '') return { dest: rule.mqtt, qos };
    const rest = rule.match === 'prefix' ? topic.slice(rule.wamp.length) : topic;
    const levels = rest === '' ? '' : uriToTopic(rest);
    if (levels === undefined)
      return { unmappable: `WAMP topic '${topic}' has no MQTT form (a component holds "/" or "+")` };
    const dest = rule.mqtt + levels;
    if (dest === '' || dest.endsWith('/')) return { unmappable: `WAMP topic '${topic}' maps to an empty MQTT level` };
    return { dest, qos };
  }
  return undefined;
}

export interface InMatch {
  readonly mqtt: string;
  readonly wamp: string;
}

/** The fixed levels of a filter: what comes before its first wildcard. */
function fixedPart(filter: string): string {
  const i = filter.search(/[+#]/);
  return i < 0 ? filter : filter.slice(0, i);
}

/** Whether an MQTT topic name matches a filter ("+" one level, trailing "#" the rest). */
export function mqttMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i > 0 || !topic.startsWith('$');
    if (i >= t.length) return false;
    if (f[i] === '+') continue;
    if (f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** The WAMP topic an MQTT message is published to, or why it cannot be. */
export function inTopic(rules: readonly InMatch[], topic: string): { topic: string } | { refused: string } | undefined {
  for (const rule of rules) {
    if (!mqttMatches(rule.mqtt, topic)) continue;
    const fixed = fixedPart(rule.mqtt);
    if (fixed === rule.mqtt) return { topic: rule.wamp };
    const rest = topic.slice(fixed.length);
    if (rest === '') return { topic: rule.wamp.endsWith('.') ? rule.wamp.slice(0, -1) : rule.wamp };
    const mapped = topicToUri(rest);
    if (!mapped.ok) return { refused: mapped.message };
    return { topic: rule.wamp + mapped.value };
  }
  return undefined;
}
