// MQTT over WebSocket (MQTT 5 section 6, 3.1.1 section 6): binary frames carrying the MQTT
// byte stream, subprotocol "mqtt", on a path of a WebSocket listener's uWS App. Browsers and
// dashboards reach the router this way; each client is an MqttConnection like a TCP one.

import type uWS from '@btc-vision/uwebsockets.js';
import type { PeerAcceptor, TransportInfo } from '../router/peer.ts';
import { addressFromOctets, isLoopback } from '../net/address.ts';
import type { MqttConnection } from './connection.ts';
import { MqttHub } from './hub.ts';
import { mqttDefaults, type MqttOptions } from './options.ts';
import type { SessionRegistry } from './session.ts';
import { upgradeWhenAdmitted, type WebSocketAdmission } from '../transport/websocket-admission.ts';

interface UserData {
  readonly info: TransportInfo;
  connection: MqttConnection | null;
  closed: boolean;
  /** This connection's share of the pre-login budget until CONNACK (or close). */
  reserved: { release(): void } | undefined;
}

const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_UNSUPPORTED_DATA = 1003;

/** Adds the MQTT path to `app`; returns what closes its connections when the listener stops. */
export function addMqttRoute(
  app: uWS.TemplatedApp,
  path: string,
  acceptor: PeerAcceptor,
  options: Partial<MqttOptions> & { realm: string },
  registry: SessionRegistry,
  admissionFor?: (bytes: number) => WebSocketAdmission,
): () => void {
  const hub = new MqttHub(acceptor, { ...mqttDefaults, ...options }, registry);
  const maxPayloadLength = 2 * hub.options.maxPacketBytes;
  // uWS buffers up to maxPayloadLength of an unfinished message before CONNECT is seen, so a
  // stranger reserves that much until CONNACK, as WAMP WebSocket logins do until WELCOME.
  const admission = admissionFor?.(maxPayloadLength);
  const open = new Set<uWS.WebSocket<UserData>>();
  app.ws<UserData>(path, {
    // A WebSocket message may carry several MQTT packets (or part of one): room for two.
    maxPayloadLength,
    // MQTT's keep-alive finds dead clients; uWS's own idle timeout stays out of it.
    idleTimeout: 0,
    maxBackpressure: 64 * 1024 * 1024,
    closeOnBackpressureLimit: true,
    upgrade(res, req, context) {
      const offered = req
        .getHeader('sec-websocket-protocol')
        .split(',')
        .map((s) => s.trim());
      if (!offered.includes('mqtt')) {
        res
          .writeStatus('400 Bad Request')
          .writeHeader('Content-Type', 'text/plain')
          .end('MQTT over WebSocket needs the subprotocol "mqtt"\n', true);
        return;
      }
      const address = addressFromOctets(res.getRemoteAddress());
      const data: UserData = {
        info: { type: 'mqtt', peer: address, local: isLoopback(address) },
        connection: null,
        closed: false,
        reserved: undefined,
      };
      const key = req.getHeader('sec-websocket-key');
      const extensions = req.getHeader('sec-websocket-extensions');
      if (admission === undefined) {
        res.upgrade(data, key, 'mqtt', extensions, context);
        return;
      }
      upgradeWhenAdmitted(res, admission, address, (share) => {
        data.reserved = share;
        res.upgrade(data, key, 'mqtt', extensions, context);
      });
    },
    open(ws) {
      const data = ws.getUserData();
      open.add(ws);
      data.connection = hub.accept({
        info: data.info,
        // uWS throws on a closed WebSocket.
        write: (bytes) => {
          if (!data.closed) ws.send(bytes, true);
        },
        bufferedAmount: () => (data.closed ? 0 : ws.getBufferedAmount()),
        end: () => {
          if (!data.closed) ws.end(CLOSE_NORMAL);
        },
        connected: () => data.reserved?.release(),
      });
    },
    message(ws, message, isBinary) {
      const data = ws.getUserData();
      if (!isBinary) return ws.end(CLOSE_UNSUPPORTED_DATA, 'MQTT needs binary frames');
      // uWS reuses `message` once this callback returns.
      data.connection?.data(Buffer.from(new Uint8Array(message)), Date.now());
    },
    close(ws) {
      const data = ws.getUserData();
      data.closed = true;
      data.reserved?.release();
      open.delete(ws);
      const connection = data.connection;
      // uWS calls this inside end(); the session is told once that call is over.
      if (connection !== null) queueMicrotask(() => hub.closed(connection));
    },
  });
  return () => {
    hub.close();
    for (const ws of [...open]) ws.end(CLOSE_GOING_AWAY, 'server shutting down');
  };
}
