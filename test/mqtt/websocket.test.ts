// MQTT over WebSocket (subprotocol "mqtt") on the WebSocket listener's port, next to WAMP: the
// npm mqtt client over ws:// both ways with a WAMP peer; a client without the subprotocol is
// refused; the WAMP path is unchanged; one session registry for TCP and WebSocket.

import test from 'ava';
import net from 'node:net';
import mqtt from 'mqtt';
import { RawClient } from '../helpers/raw-client.ts';
import { startWorld, subscribed, until, type World } from './helpers.ts';

let w: World;
let wsPort: number;

test.before(async () => {
  w = await startWorld({}, undefined, {
    websocket: [{ host: '127.0.0.1', port: 0, path: '/ws', mqtt: { path: '/mqtt', realm: 'open' } }],
  });
  wsPort = (w.server.listeners.find((l) => l.transport === 'websocket') as { port: number }).port;
});
test.after.always(async () => {
  await w?.stop();
});

test('npm mqtt over ws:// (MQTT 5 and 3.1.1): MQTT -> WAMP and WAMP -> MQTT', async (t) => {
  for (const protocolVersion of [4, 5] as const) {
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${wsPort}/mqtt`, { protocolVersion, reconnectPeriod: 0 });
    const got: string[] = [];
    client.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await client.subscribeAsync(`ws${protocolVersion}/in`, { qos: 1 });
    const wamp = await w.wamp();
    await subscribed(wamp, `ws${protocolVersion}.in`);
    wamp.send([16, wamp.requestId(), {}, `ws${protocolVersion}.in`, [{ hello: 'mqtt' }]]);
    await until(() => got.length === 1, 5000, 'WAMP -> MQTT');
    t.is(got[0], `ws${protocolVersion}/in {"hello":"mqtt"}`);
    await wamp.subscribe(`ws${protocolVersion}.out`);
    await client.publishAsync(`ws${protocolVersion}/out`, '[1,2]', { qos: 1 });
    const event = await wamp.next((m) => m[0] === 36);
    t.deepEqual(event[4], [[1, 2]]);
    await client.endAsync();
  }
});

test('without the subprotocol "mqtt" the upgrade is refused; the WAMP path still serves WAMP', async (t) => {
  // By hand: fetch() may not send Upgrade headers.
  const status = await new Promise<string>((resolve, reject) => {
    const s = net.connect(wsPort, '127.0.0.1', () =>
      s.write(
        [
          'GET /mqtt HTTP/1.1',
          `Host: 127.0.0.1:${wsPort}`,
          'Connection: Upgrade',
          'Upgrade: websocket',
          'Sec-WebSocket-Version: 13',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Protocol: wamp.2.json',
          '',
          '',
        ].join('\r\n'),
      ),
    );
    s.once('data', (d: Buffer) => {
      resolve(d.toString().split('\r\n')[0]!);
      s.destroy();
    });
    s.once('error', reject);
  });
  t.is(status, 'HTTP/1.1 400 Bad Request');
  const wamp = await RawClient.connect({ transport: 'websocket', url: `ws://127.0.0.1:${wsPort}/ws` });
  t.true((await wamp.join('open')) > 0);
  wamp.destroy();
});

test('one client identity across TCP and WebSocket: connecting over one takes over the other', async (t) => {
  const tcp = await mqtt.connectAsync(`mqtt://127.0.0.1:${w.openPort}`, {
    protocolVersion: 5,
    clientId: 'roaming',
    reconnectPeriod: 0,
  });
  const closed = new Promise<void>((resolve) => tcp.once('disconnect', () => resolve()));
  const ws = await mqtt.connectAsync(`ws://127.0.0.1:${wsPort}/mqtt`, {
    protocolVersion: 5,
    clientId: 'roaming',
    reconnectPeriod: 0,
  });
  await closed;
  t.pass();
  await ws.endAsync();
  tcp.end(true);
});
