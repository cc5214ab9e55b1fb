// A load generator process of the MQTT benchmark (mqtt.ts): holds a share of the fan-out
// subscribers or of the idle clients, on raw sockets; PUBLISH packets are counted from their
// fixed headers without decoding.
//
// IPC commands: subscribe {port, count, topic} (CONNECT, SUBSCRIBE QoS 0, until every SUBACK),
// idle {port, count} (CONNECT, until every CONNACK), count (PUBLISH packets received so far),
// close. Prints {"ready": true} once it takes commands.

import { type MqttCounter, openMqtt } from './mqtt-counter.ts';
import { serveParent } from './common.ts';

let clients: MqttCounter[] = [];

async function openMany(port: number, count: number, topic: string | undefined): Promise<number> {
  const prefix = `g${process.pid}-${Date.now()}-`;
  let next = 0;
  const opened: MqttCounter[] = [];
  // A bounded number of handshakes at a time: the listen backlog stays small.
  const worker = async (): Promise<void> => {
    while (next < count) {
      const c = await openMqtt(port, `${prefix}${next++}`, topic);
      await c.ready(30_000);
      opened.push(c);
    }
  };
  await Promise.all(Array.from({ length: Math.min(50, count) }, worker));
  clients.push(...opened);
  return opened.length;
}

serveParent(async (command) => {
  switch (command.cmd) {
    case 'subscribe':
      return { opened: await openMany(command.port as number, command.count as number, command.topic as string) };
    case 'idle':
      return { opened: await openMany(command.port as number, command.count as number, undefined) };
    case 'count':
      return { total: clients.reduce((n, c) => n + c.count, 0) };
    case 'close': {
      for (const c of clients) c.socket.destroy();
      clients = [];
      return {};
    }
    default:
      throw new Error(`unknown command ${String(command.cmd)}`);
  }
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
