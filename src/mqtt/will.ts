// The MQTT will as the WAMP session's testament: set at CONNECT (wamp.session.add_testament,
// scope "destroyed"), so the router publishes it when the session is lost, as MQTT publishes a
// will on a lost connection and not after DISCONNECT. A persistent session outlives its
// connection, so its will is published by the session itself when the connection goes.

import type { IConnectPacket } from 'mqtt-packet';
import type { Dict, Message } from '../wamp/messages.ts';
import { MessageType as T } from '../wamp/messages.ts';
import { bytesOf, mqttToWamp, type WampPayload } from './payload.ts';
import { reasonOfError } from './reason-codes.ts';
import { topicToUri } from './topics.ts';

export type Will = NonNullable<IConnectPacket['will']>;

/** What the will needs of the session's WAMP side. */
export interface WillWamp {
  call(procedure: string, args: unknown[], kwargs: Dict, reply: (message: Message) => void): void;
  publish(topic: string, payload: WampPayload, options: Dict): void;
}

/** Sets the will as the session's testament; `done` gets the refusal (CONNACK reason) or nothing. */
export function addWill(
  wamp: WillWamp,
  will: Will,
  done: (refused?: { reason: number; message: string }) => void,
): void {
  const uri = topicToUri(will.topic);
  if (!uri.ok) return done({ reason: uri.reason, message: `will: ${uri.message}` });
  const payload = mqttToWamp(bytesOf(will.payload));
  wamp.call(
    'wamp.session.add_testament',
    [uri.value, payload.args ?? [], payload.kwargs ?? {}],
    { publish_options: { retain: will.retain === true }, scope: 'destroyed' },
    (reply) => {
      if (reply.type === T.ERROR)
        return done({ reason: reasonOfError(reply.error, false), message: `will: ${reply.error}` });
      done();
    },
  );
}

/** The connection of a session that lives on is gone: its testament is dropped and the will published now. */
export function publishWill(wamp: WillWamp, will: Will | undefined): void {
  // The WAMP session lives on, so its testament would not fire; published under the client's own grants.
  wamp.call('wamp.session.flush_testaments', [], {}, () => {});
  if (will === undefined) return;
  const uri = topicToUri(will.topic);
  if (uri.ok)
    wamp.publish(uri.value, mqttToWamp(bytesOf(will.payload)), {
      exclude_me: false,
      ...(will.retain && { retain: true }),
    });
}
