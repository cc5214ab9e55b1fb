// MQTT 5 PUBLISH properties through WAMP: the listener publishes them as the custom option
// "_mqtt", which the Broker hands to subscribers as EVENT.Details._mqtt (WAMP subscribers see
// them too), and turns them back into properties for MQTT subscribers:
//   _mqtt: { retain, user_properties, expires_at (ms since the epoch), content_type,
//            response_topic, correlation_data (binary), payload_format (true: UTF-8) }
// Anything there may come from any WAMP publisher, so every field is checked on the way out.

import type { IPublishPacket } from 'mqtt-packet';
import { isDict } from '../wamp/parse.ts';
import { isMqttString } from './packet-size.ts';

export const MQTT_DETAIL = '_mqtt';

type Properties = NonNullable<IPublishPacket['properties']>;

/** The "_mqtt" option of a client's PUBLISH; undefined when there is nothing to carry. */
export function detailOfPublish(p: IPublishPacket, v5: boolean, now: number): Record<string, unknown> | undefined {
  const d: Record<string, unknown> = {};
  if (p.retain) d.retain = true;
  const props = v5 ? p.properties : undefined;
  if (props?.userProperties !== undefined) d.user_properties = props.userProperties;
  if (props?.messageExpiryInterval !== undefined) d.expires_at = now + props.messageExpiryInterval * 1000;
  if (props?.contentType !== undefined) d.content_type = props.contentType;
  if (props?.responseTopic !== undefined) d.response_topic = props.responseTopic;
  if (props?.correlationData !== undefined) d.correlation_data = new Uint8Array(props.correlationData);
  if (props?.payloadFormatIndicator === true) d.payload_format = true;
  return Object.keys(d).length > 0 ? d : undefined;
}

export interface Carried {
  /** PUBLISH properties for an MQTT 5 subscriber. */
  properties: Properties | undefined;
  /** When the message expires (ms since the epoch), if it does. */
  expiresAt: number | undefined;
  /** Whether it was published with retain (for Retain As Published). */
  retained: boolean;
}

// In UTF-8 bytes, as MQTT counts (packet-size.ts): "€" is one UTF-16 unit and three bytes, so
// a field checked in units could pass here and make the whole PUBLISH unencodable later. A field
// MQTT cannot carry is left off; the message goes without it.
const isText = (v: unknown): v is string => typeof v === 'string' && isMqttString(v);

export function carriedOf(detail: unknown): Carried {
  if (!isDict(detail)) return { properties: undefined, expiresAt: undefined, retained: false };
  const p: Properties = {};
  const up = detail.user_properties;
  if (isDict(up)) {
    const ok = Object.entries(up).filter(
      ([k, v]) => isText(k) && (isText(v) || (Array.isArray(v) && v.every((x) => isText(x)))),
    );
    if (ok.length > 0) p.userProperties = Object.fromEntries(ok) as Properties['userProperties'];
  }
  if (isText(detail.content_type)) p.contentType = detail.content_type;
  // A response topic is a topic name: "+" or "#" in it would make the packet unencodable.
  if (isText(detail.response_topic) && detail.response_topic.length > 0 && !/[+#]/.test(detail.response_topic))
    p.responseTopic = detail.response_topic;
  if (detail.correlation_data instanceof Uint8Array && detail.correlation_data.length <= 65535)
    p.correlationData = Buffer.from(detail.correlation_data);
  if (detail.payload_format === true) p.payloadFormatIndicator = true;
  const e = detail.expires_at;
  const expiresAt = typeof e === 'number' && Number.isFinite(e) ? e : undefined;
  return { properties: Object.keys(p).length > 0 ? p : undefined, expiresAt, retained: detail.retain === true };
}

/** MQTT 5 3.3.2.3.3: the expiry a message goes out with is what is left of it. */
export function withExpiry(
  properties: Properties | undefined,
  expiresAt: number | undefined,
  now: number,
): Properties | undefined {
  if (expiresAt === undefined) return properties;
  return { ...properties, messageExpiryInterval: Math.max(1, Math.ceil((expiresAt - now) / 1000)) };
}

/** WAMP PUBLISH options for an MQTT PUBLISH: QoS 1/2 acknowledged, retain, MQTT 5 properties carried. */
export function publishOptions(p: IPublishPacket, v5: boolean, now: number): Record<string, unknown> {
  const options: Record<string, unknown> = { exclude_me: false };
  if (p.qos > 0) options.acknowledge = true;
  if (p.retain) options.retain = true;
  const carried = detailOfPublish(p, v5, now);
  if (carried !== undefined) options[MQTT_DETAIL] = carried;
  return options;
}
