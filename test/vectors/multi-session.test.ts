// The multi-session scenarios of the WAMP test vectors, run step by step on the Router with
// in-memory clients in every format.

import test from 'ava';
import { Router } from '../../src/router/router.ts';
import { MessageType } from '../../src/wamp/messages.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { normalize } from './vector-attributes.ts';
import { FORMATS, type MultiSessionFile, multiSessionFiles, type Step } from './vector-files.ts';

const TYPE_CODES: Record<string, number> = MessageType;
// Wire layout per message type, as vector field names (the scenario's message objects).
const WIRE_FIELDS: Record<string, readonly string[]> = {
  SUBSCRIBE: ['request_id', 'options', 'topic'],
  SUBSCRIBED: ['request_id', 'subscription_id'],
  UNSUBSCRIBE: ['request_id', 'subscription_id'],
  UNSUBSCRIBED: ['request_id'],
  PUBLISH: ['request_id', 'options', 'topic', 'args', 'kwargs'],
  PUBLISHED: ['request_id', 'publication_id'],
  EVENT: ['subscription_id', 'publication_id', 'details', 'args', 'kwargs'],
  REGISTER: ['request_id', 'options', 'procedure'],
  REGISTERED: ['request_id', 'registration_id'],
  CALL: ['request_id', 'options', 'procedure', 'args', 'kwargs'],
  INVOCATION: ['request_id', 'registration_id', 'details', 'args', 'kwargs'],
  YIELD: ['request_id', 'options', 'args', 'kwargs'],
  RESULT: ['request_id', 'details', 'args', 'kwargs'],
};
// IDs the router chooses: the scenario's values are placeholders, bound on first sight.
const ROUTER_IDS = new Set(['subscription_id', 'publication_id', 'registration_id']);

function scenarioArray(message: Step['message']): unknown[] {
  const fields = WIRE_FIELDS[message.type];
  const code = TYPE_CODES[message.type];
  if (fields === undefined || code === undefined)
    throw new Error(`scenario message type ${message.type} has no wire layout here`);
  const out: unknown[] = [code];
  for (const f of fields) {
    if (message[f] === undefined) break; // trailing optional fields (args, kwargs)
    out.push(message[f]);
  }
  return out;
}

function registerMultiSession(rel: string, scenario: MultiSessionFile): void {
  for (const format of FORMATS) {
    test(`${rel} (${format.name}): ${scenario.description}`, (t) => {
      const realms = [...new Set(scenario.sessions.map((s) => s.realm ?? 'realm1'))];
      const router = new Router({ realms: realms.map((uri) => ({ uri, anonymous: true })) });
      const clients = new Map<string, MemoryClient>();
      for (const s of scenario.sessions) {
        const realm = s.realm ?? 'realm1';
        const client = new MemoryClient(router, format);
        client.join(realm, { roles: Object.fromEntries((s.roles ?? []).map((r) => [r, {}])) });
        clients.set(s.session_id, client);
      }
      const bound = new Map<string, unknown>(); // "subscription_id=456" -> the router's ID
      const events = new Map<string, number>();
      for (const step of [...scenario.sequence].sort((a, b) => a.step - b.step)) {
        const where = `step ${step.step} (${step.description})`;
        if (step.to === 'router') {
          const client = clients.get(step.from);
          if (client === undefined) {
            t.fail(`${where}: unknown session ${step.from}`);
            return;
          }
          client.send(scenarioArray(step.message));
          continue;
        }
        const client = clients.get(step.to);
        if (client === undefined) {
          t.fail(`${where}: unknown session ${step.to}`);
          return;
        }
        const expected = scenarioArray(step.message);
        const got = client.received.shift();
        if (got === undefined) {
          t.fail(`${where}: ${step.to} received nothing; expected ${JSON.stringify(expected)}`);
          return;
        }
        if (got[0] === MessageType.EVENT) events.set(step.to, (events.get(step.to) ?? 0) + 1);
        t.is(got[0], expected[0], `${where}: message type`);
        const fields = WIRE_FIELDS[step.message.type] ?? [];
        fields.forEach((f, i) => {
          const value = step.message[f];
          if (value === undefined) return;
          const actual = got[i + 1];
          if (ROUTER_IDS.has(f)) {
            const key = `${f}=${JSON.stringify(value)}`;
            if (!bound.has(key)) bound.set(key, actual);
            t.true(
              Number.isInteger(actual) && (actual as number) >= 1 && (actual as number) <= 2 ** 53,
              `${where}: ${f} is a valid ID`,
            );
            t.is(actual, bound.get(key), `${where}: ${f} is the one the router assigned earlier`);
          } else {
            t.deepEqual(normalize(actual), normalize(value), `${where}: ${f}`);
          }
        });
        if (step.assertion) t.log(`${where}: ${step.assertion}`);
      }
      for (const [id, client] of clients) t.deepEqual(client.take(), [], `${id} received nothing beyond the scenario`);
      const outcome = scenario.expected_outcome ?? {};
      if (typeof outcome.event_count === 'number') {
        t.is(
          [...events.values()].reduce((a, b) => a + b, 0),
          outcome.event_count,
          'expected_outcome.event_count',
        );
      }
      if (Array.isArray(outcome.event_recipients)) {
        t.deepEqual(
          [...events.keys()].sort(),
          [...(outcome.event_recipients as string[])].sort(),
          'expected_outcome.event_recipients',
        );
      }
    });
  }
}

for (const { rel, scenario } of multiSessionFiles()) registerMultiSession(rel, scenario);
