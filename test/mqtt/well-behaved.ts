// The check that a router which just dealt with a hostile client still serves others: an MQTT 5
// subscriber and an MQTT 3.1.1 publisher (the npm mqtt client) exchange one QoS 1 message.

import mqtt from 'mqtt';
import { until } from './helpers.ts';

export async function servesWellBehavedClients(port: number, host = '127.0.0.1'): Promise<boolean> {
  const topic = `healthy/${Math.random().toString(36).slice(2)}`;
  const options = { connectTimeout: 5000, reconnectPeriod: 0 };
  const sub = await mqtt.connectAsync(`mqtt://${host}:${port}`, { ...options, protocolVersion: 5 });
  const pub = await mqtt.connectAsync(`mqtt://${host}:${port}`, { ...options, protocolVersion: 4 });
  try {
    const got: string[] = [];
    sub.on('message', (_topic, payload) => got.push(payload.toString()));
    await sub.subscribeAsync(topic, { qos: 1 });
    await pub.publishAsync(topic, 'fine', { qos: 1 });
    await until(() => got.length > 0, 5000, 'the message');
    return got[0] === 'fine';
  } finally {
    await sub.endAsync(true);
    await pub.endAsync(true);
  }
}
