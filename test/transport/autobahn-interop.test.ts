// A real WAMP client (autobahn-js) against both transports, with a stand-in core that only
// answers HELLO and GOODBYE: proves the handshake, framing and subprotocol choices interoperate.

import test from 'ava';
import { createRequire } from 'node:module';
import type { Peer, PeerAcceptor } from '../../src/router/peer.ts';
import { listenRawSocket } from '../../src/transport/rawsocket-server.ts';
import { listenWebSocket } from '../../src/transport/websocket-server.ts';

interface Session {
  readonly id: number;
}
interface Connection {
  onopen: (session: Session) => void;
  onclose: (reason: string) => boolean;
  open(): void;
  close(): void;
}
interface Autobahn {
  Connection: new (options: object) => Connection;
  serializer: { MsgpackSerializer: new () => object; CBORSerializer: new () => object };
}
// autobahn warns on every close and binds console.warn when loaded; this file runs in its
// own process, so silencing it here touches no other test.
console.warn = () => {};
const autobahn = createRequire(import.meta.url)('autobahn') as Autobahn;

const seen: string[] = [];
const miniCore: PeerAcceptor = {
  attach(peer: Peer) {
    return {
      receive(frame) {
        const message = peer.serializer.decode(frame) as unknown[];
        seen.push(`${peer.info.type}/${peer.serializer.name}:${String(message[0])}`);
        if (message[0] === 1) {
          peer.send(peer.serializer.encode([2, 4242, { roles: { broker: {}, dealer: {} } }]));
          peer.welcomed?.(); // as the core's Session does: the pre-login budget share goes back
        }
        if (message[0] === 6) {
          peer.send(peer.serializer.encode([6, {}, 'wamp.close.goodbye_and_out']));
          peer.close();
        }
      },
      closed() {
        seen.push(`${peer.info.type}/${peer.serializer.name}:closed`);
      },
    };
  },
};

function session(transports: object[]): Promise<{ id: number; reason: string }> {
  return new Promise((resolve) => {
    let id = -1;
    const connection = new autobahn.Connection({ transports, realm: 'realm1', max_retries: 0 });
    connection.onopen = (s) => {
      id = s.id;
      connection.close();
    };
    connection.onclose = (reason) => {
      resolve({ id, reason });
      return true;
    };
    connection.open();
  });
}

test.serial('autobahn-js over RawSocket (JSON) and WebSocket (JSON, MsgPack, CBOR)', async (t) => {
  const rs = await listenRawSocket({ host: '127.0.0.1', port: 0 }, miniCore);
  const ws = await listenWebSocket({ host: '127.0.0.1', port: 0 }, miniCore);
  t.teardown(async () => {
    await rs.close();
    await ws.close();
  });
  const url = `ws://127.0.0.1:${ws.port}/ws`;

  t.deepEqual(await session([{ type: 'rawsocket', host: '127.0.0.1', port: rs.port }]), { id: 4242, reason: 'closed' });
  t.deepEqual(await session([{ type: 'websocket', url }]), { id: 4242, reason: 'closed' });
  for (const serializer of [new autobahn.serializer.MsgpackSerializer(), new autobahn.serializer.CBORSerializer()]) {
    t.deepEqual(await session([{ type: 'websocket', url, serializers: [serializer] }]), { id: 4242, reason: 'closed' });
  }
  await new Promise((r) => setImmediate(r));
  t.deepEqual(
    seen,
    ['rawsocket', 'websocket/json', 'websocket/msgpack', 'websocket/cbor'].flatMap((p) => {
      const prefix = p === 'rawsocket' ? 'rawsocket/json' : p;
      return [`${prefix}:1`, `${prefix}:6`, `${prefix}:closed`];
    }),
  );
});
