// The uplink's connection to the other router, as a client, with the JSON serialization:
// WebSocket (ws://, wss://; Node's WebSocket) or RawSocket (rs://, rss:// over TLS; the
// project's own framing). One interface for both: send a message, hear messages and the end.

import net from 'node:net';
import tls from 'node:tls';
import { LengthPrefixedDecoder } from '../net/length-prefixed.ts';
import {
  buildHandshakeRequest,
  encodeFrame,
  exponentForMaxLength,
  FrameType,
  HANDSHAKE_SIZE,
  MAGIC,
  maxLengthFromExponent,
} from '../transport/rawsocket-framing.ts';

/** The largest message taken from the other router; announced to it on RawSocket. */
export const MAX_MESSAGE = 16 * 1024 * 1024;
const JSON_SERIALIZER = 1;

export interface WireEvents {
  open(): void;
  message(text: string): void;
  /** The connection ended, or failed (why); called once. */
  closed(reason: string): void;
}

export interface Wire {
  send(text: string): void;
  close(): void;
}

export function openWire(url: string, events: WireEvents): Wire {
  return url.startsWith('rs') ? rawSocket(url, events) : webSocket(url, events);
}

function webSocket(url: string, events: WireEvents): Wire {
  let over = false;
  const end = (reason: string) => {
    if (over) return;
    over = true;
    events.closed(reason);
  };
  const ws = new WebSocket(url, ['wamp.2.json']);
  ws.onopen = () => {
    if (ws.protocol !== 'wamp.2.json') {
      ws.close();
      return end(`the server chose subprotocol '${ws.protocol}', not wamp.2.json`);
    }
    events.open();
  };
  ws.onmessage = (e) => {
    if (over) return;
    const text = typeof e.data === 'string' ? e.data : '';
    if (text.length > MAX_MESSAGE) {
      ws.close();
      return end(`a message of ${text.length} bytes, over ${MAX_MESSAGE}`);
    }
    events.message(text);
  };
  ws.onerror = (e) => end((e as Event & { message?: string }).message || 'connection failed');
  ws.onclose = (e) => end(`connection closed (${e.code}${e.reason ? ` ${e.reason}` : ''})`);
  return {
    send: (text) => ws.send(text),
    close() {
      over = true;
      try {
        ws.close();
      } catch {
        // already closing
      }
    },
  };
}

function rawSocket(url: string, events: WireEvents): Wire {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'rss:' ? 443 : 80));
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const socket = u.protocol === 'rss:' ? tls.connect({ host, port, servername: host }) : net.connect({ host, port });
  let over = false;
  const end = (reason: string) => {
    if (over) return;
    over = true;
    socket.destroy();
    events.closed(reason);
  };
  let handshake: Buffer | undefined = Buffer.alloc(0);
  let peerMax = 0;
  const decoder = new LengthPrefixedDecoder({
    limit: MAX_MESSAGE,
    checkType: (t) =>
      t <= FrameType.PONG ? undefined : { reason: 'reserved-type', message: `RawSocket frame type ${t} is reserved` },
    tooLarge: (length, limit) => ({ reason: 'too-large', message: `a message of ${length} bytes, over ${limit}` }),
  });
  socket.once(u.protocol === 'rss:' ? 'secureConnect' : 'connect', () =>
    socket.write(buildHandshakeRequest(JSON_SERIALIZER, exponentForMaxLength(MAX_MESSAGE))),
  );
  socket.on('data', (chunk: Buffer) => {
    if (over) return;
    if (handshake !== undefined) {
      handshake = Buffer.concat([handshake, chunk]);
      if (handshake.length < HANDSHAKE_SIZE) return;
      const reply = handshake;
      handshake = undefined;
      if (reply[0] !== MAGIC) return end('not a RawSocket server');
      if ((reply[1]! & 0x0f) === 0) return end(`RawSocket handshake refused (error ${reply[1]! >> 4})`);
      if ((reply[1]! & 0x0f) !== JSON_SERIALIZER) return end('the server answered with another serializer');
      peerMax = maxLengthFromExponent(reply[1]! >> 4);
      events.open();
      chunk = reply.subarray(HANDSHAKE_SIZE);
    }
    const violation = decoder.feed(chunk, (type, payload) => {
      if (type === FrameType.PING) socket.write(encodeFrame(FrameType.PONG, payload));
      else if (type === FrameType.MESSAGE) events.message(Buffer.from(payload).toString('utf8'));
      return !over;
    });
    if (violation !== undefined) end(violation.message);
  });
  socket.on('error', (err) => end(err.message));
  socket.on('close', () => end('connection closed'));
  return {
    send(text) {
      const payload = Buffer.from(text);
      if (payload.length > peerMax)
        throw new Error(`a message of ${payload.length} bytes, over the server's ${peerMax}`);
      socket.write(encodeFrame(FrameType.MESSAGE, payload));
    },
    close() {
      over = true;
      socket.end();
    },
  };
}
