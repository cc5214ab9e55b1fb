// Validation samples of the WAMP test vectors (a raw `wmsg`, valid or not): through parseMessage
// and, for the messages a client sends to a router, through the real Router in every format.

import test from 'ava';
import { Router } from '../../src/router/router.ts';
import type { Serializer } from '../../src/serializers/index.ts';
import { toArray } from '../../src/wamp/marshal.ts';
import { MessageType } from '../../src/wamp/messages.ts';
import { parseMessage, ProtocolViolation } from '../../src/wamp/parse.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { E2EE, FIXED_FIELDS, normalize } from './vector-attributes.ts';
import {
  FORMATS,
  isValidation,
  type SingleMessageFile,
  singleMessageFiles,
  type ValidationSample,
} from './vector-files.ts';

// Which announced feature makes the router responsible for an option. The router is held to
// the vectors' rejection rules exactly for the options of features its WELCOME announces (and
// the basic profile's); options of features it does not announce may be ignored (spec: a
// client must not use an unannounced feature). An option missing here fails the test, so a
// new vector cannot slip through unclassified.
const BASIC = 'basic profile';
const OPTION_FEATURE: Record<string, string> = {
  acknowledge: BASIC,
  exclude_me: 'publisher_exclusion',
  disclose_me: 'publisher_identification',
  exclude: 'subscriber_blackwhite_listing',
  exclude_authid: 'subscriber_blackwhite_listing',
  exclude_authrole: 'subscriber_blackwhite_listing',
  eligible: 'subscriber_blackwhite_listing',
  eligible_authid: 'subscriber_blackwhite_listing',
  eligible_authrole: 'subscriber_blackwhite_listing',
  retain: 'event_retention',
  get_retained: 'event_retention',
  match: 'pattern_based_subscription',
  // Router-to-router links and the transaction hash have no WAMP feature flag yet; wampmesh
  // implements neither, so these names are never announced.
  forward_for: 'router_link (not a WAMP feature flag)',
  transaction_hash: 'transaction_hash (not a WAMP feature flag)',
  enc_algo: 'payload_passthru_mode (E2EE enc_* form)',
  enc_serializer: 'payload_passthru_mode (E2EE enc_* form)',
};

function announcedBrokerFeatures(): Set<string> {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const client = new MemoryClient(router);
  client.send([1, 'realm1', { roles: { subscriber: {} } }]);
  const welcome = client.take().find((m) => m[0] === MessageType.WELCOME);
  const details = (welcome?.[2] ?? {}) as { roles?: { broker?: { features?: Record<string, unknown> } } };
  const features = details.roles?.broker?.features ?? {};
  return new Set(Object.keys(features).filter((k) => features[k] === true));
}

interface Trio {
  publisher: MemoryClient;
  subscriber: MemoryClient;
}

/** A publisher/caller session, and a subscriber on com.example.topic that sees what gets out. */
function sessions(format: Serializer): Trio {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const publisher = new MemoryClient(router, format);
  const subscriber = new MemoryClient(router, format);
  publisher.join();
  subscriber.join();
  subscriber.send([32, 1, {}, 'com.example.topic']);
  subscriber.take();
  return { publisher, subscriber };
}

/** The session is still usable: a SUBSCRIBE round-trip answers, in order, after everything else. */
function stillServes(client: MemoryClient): boolean {
  client.send([32, 987_654, {}, 'vectors.probe']);
  return client.take().some((m) => m[0] === 33 && m[1] === 987_654);
}

function registerValidationSample(rel: string, file: SingleMessageFile, sample: ValidationSample): void {
  const code = file.wamp_message_code;
  const optionName = /\.(?:Options|Details)\.([a-z_]+)/.exec(sample.description)?.[1];
  const mustReject = sample.expected_error !== undefined;
  // The E2EE payload samples carry the payload as a string where Arguments|list belongs.
  const payloadSample = sample.wmsg.length === (FIXED_FIELDS[code] ?? -99) + 2 && !Array.isArray(sample.wmsg.at(-1));
  test(`${rel} [validation]: ${sample.description}`, (t) => {
    t.is(sample.wmsg[0], code, 'sample type matches its file');
    const parsed = parseMessage(sample.wmsg);
    if (payloadSample) {
      t.true(
        parsed instanceof ProtocolViolation,
        'transparent payloads are outside our profile and refused by parseMessage',
      );
      t.log(`outside profile: ${E2EE}`);
    } else if (!mustReject) {
      // Valid per the vectors: it parses, and marshals back to exactly the same array.
      if (parsed instanceof ProtocolViolation) {
        t.fail(`valid sample refused: ${parsed.message}`);
        return;
      }
      t.deepEqual(normalize(toArray(parsed)), normalize(sample.wmsg));
    } else {
      // parseMessage checks structure only; option semantics belong to the Broker/Dealer,
      // which the router-level check below exercises.
      t.notThrows(() => parseMessage(sample.wmsg));
    }

    if (optionName === undefined) {
      t.fail(`cannot tell which option '${sample.description}' is about`);
      return;
    }
    // EVENT.Details rules bind clients; a router only ever has to refuse an EVENT from a client.
    const feature = code === MessageType.EVENT ? 'router-to-client only' : OPTION_FEATURE[optionName];
    if (feature === undefined) {
      t.fail(`option '${optionName}' is not classified in OPTION_FEATURE`);
      return;
    }
    const responsible = feature === BASIC || announcedBrokerFeatures().has(feature);

    // The router's view, in every format.
    for (const format of FORMATS) {
      const { publisher, subscriber } = sessions(format);
      publisher.send(sample.wmsg);
      const replies = publisher.take();
      const abort = replies.find((m) => m[0] === MessageType.ABORT);
      const where = `${format.name}: ${JSON.stringify(sample.wmsg)}`;
      if (code === MessageType.EVENT) {
        // EVENT only ever goes router -> client: from a client it is a protocol violation.
        t.is(abort?.[2], 'wamp.error.protocol_violation', `${where}: EVENT from a client is refused`);
        continue;
      }
      if (payloadSample) {
        t.is(abort?.[2], 'wamp.error.protocol_violation', `${where}: payload in the Arguments position is refused`);
        continue;
      }
      const request = sample.wmsg[1];
      const error = replies.find((m) => m[0] === MessageType.ERROR && m[1] === code && m[2] === request);
      const delivered = subscriber.take().some((m) => m[0] === MessageType.EVENT);

      if (!mustReject) {
        t.is(abort, undefined, `${where}: valid, must not ABORT; got ${JSON.stringify(replies)}`);
        if (code === MessageType.SUBSCRIBE && responsible) {
          t.true(
            replies.some((m) => m[0] === MessageType.SUBSCRIBED && m[1] === request),
            `${where}: SUBSCRIBED; got ${JSON.stringify(replies)}`,
          );
        }
        if (code === MessageType.PUBLISH) {
          // Acknowledged, a valid publication is confirmed.
          const acked = [...sample.wmsg] as [number, number, Record<string, unknown>, ...unknown[]];
          acked[1] = 4242;
          acked[2] = { ...acked[2], acknowledge: true };
          publisher.send(acked);
          const ackReplies = publisher.take();
          t.true(
            ackReplies.some((m) => m[0] === MessageType.PUBLISHED && m[1] === 4242),
            `${where}: acknowledged, it is PUBLISHED; got ${JSON.stringify(ackReplies)}`,
          );
        }
        t.true(stillServes(publisher), `${where}: session still serves`);
        continue;
      }

      if (!responsible) {
        t.is(abort, undefined, `${where}: no ABORT; got ${JSON.stringify(replies)}`);
        t.true(stillServes(publisher), `${where}: session still serves`);
        t.log(
          `outside profile: option '${optionName}' belongs to '${feature}', which the router does not announce; ignored`,
        );
        continue;
      }

      // Must be refused. A PUBLISH without acknowledge hears of no failure (spec, and what
      // Crossbar/Autobahn do), so "refused" there means: nothing was published.
      const contains = sample.expected_error?.contains ?? optionName;
      if (code === MessageType.PUBLISH) {
        t.false(delivered, `${where}: must be refused, but the subscriber received the EVENT`);
        t.false(
          replies.some((m) => m[0] === MessageType.PUBLISHED),
          `${where}: must not be PUBLISHED`,
        );
        if (optionName !== 'acknowledge' && abort === undefined) {
          // Asked for an acknowledgement, the publisher must be told why.
          const acked = [...sample.wmsg] as [number, number, Record<string, unknown>, ...unknown[]];
          acked[1] = 4242;
          acked[2] = { ...acked[2], acknowledge: true };
          publisher.send(acked);
          const ackReplies = publisher.take();
          const ackError = ackReplies.find((m) => m[0] === MessageType.ERROR && m[1] === code && m[2] === 4242);
          const ackAbort = ackReplies.find((m) => m[0] === MessageType.ABORT);
          t.true(
            ackError !== undefined || ackAbort?.[2] === 'wamp.error.protocol_violation',
            `${where} + acknowledge: ERROR or ABORT; got ${JSON.stringify(ackReplies)}`,
          );
          const text = JSON.stringify(ackError?.slice(4) ?? ackAbort?.[1] ?? '');
          t.true(text.includes(contains), `${where} + acknowledge: the refusal names '${contains}': ${text}`);
        }
      } else {
        t.true(
          abort?.[2] === 'wamp.error.protocol_violation' || error !== undefined,
          `${where}: must be refused (ABORT protocol_violation or ERROR); router replied ${JSON.stringify(replies)}`,
        );
        const text = JSON.stringify(error?.slice(4) ?? abort?.[1] ?? '');
        t.true(text.includes(contains), `${where}: the refusal names '${contains}': ${text}`);
      }
    }
  });
}

for (const { rel, file } of singleMessageFiles()) {
  for (const sample of file.samples) if (isValidation(sample)) registerValidationSample(rel, file, sample);
}
