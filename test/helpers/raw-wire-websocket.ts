// The raw client's WebSocket transports: Node's global WebSocket (undici) by default, and a
// small RFC 6455 client on node:net for what the WHATWG API cannot do (stop reading, send
// arbitrary bytes as a text frame).

import { createHash, randomBytes } from 'node:crypto';
import type net from 'node:net';
import type { Serializer } from '../../src/serializers/index.ts';
import { withDeadline } from './deadline.ts';
import { type CloseInfo, socketControls, tcpConnect, type Wire, type WireEvents, writeCorked } from './raw-wire.ts';
import { maskedFrame, WsFrameDecoder } from './ws-client-frames.ts';

// ---- WebSocket: Node's global WebSocket ---------------------------------------------------

export async function openGlobalWebSocket(
  url: string,
  serializer: Serializer,
  timeoutMs: number,
  events: WireEvents,
): Promise<Wire> {
  const ws = new WebSocket(url, [serializer.subprotocol]);
  ws.binaryType = 'arraybuffer';
  const opened = new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`websocket to ${url} failed to open`));
    ws.onclose = (e) => reject(new Error(`websocket to ${url} closed while opening (${e.code} ${e.reason})`));
  });
  await withDeadline(opened, timeoutMs, 'websocket open', () => ws.close());
  if (ws.protocol !== serializer.subprotocol) {
    ws.close();
    throw new Error(`server chose subprotocol '${ws.protocol}', we asked for ${serializer.subprotocol}`);
  }
  ws.onerror = () => undefined; // onclose follows
  ws.onclose = (e) => events.closed({ code: e.code, reason: e.reason });
  ws.onmessage = (e: MessageEvent) => {
    const data: unknown = e.data;
    if (typeof data === 'string') events.message(data);
    else if (data instanceof ArrayBuffer) events.message(new Uint8Array(data));
  };
  const textDecoder = new TextDecoder('utf-8', { fatal: true });
  const asText = (bytes: Uint8Array): string => textDecoder.decode(bytes);
  return {
    sendMessage(payload) {
      if (serializer.binary) ws.send(typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload);
      else ws.send(typeof payload === 'string' ? payload : asText(payload));
    },
    sendFramed() {
      throw new Error('sendFramed is for RawSocket');
    },
    sendRaw(bytes, binary = serializer.binary) {
      // WHATWG WebSocket sends strings as text frames, bytes as binary ones; text frames that
      // are not UTF-8 cannot be produced here (use websocketImpl 'net').
      if (binary) ws.send(bytes);
      else ws.send(asText(bytes));
    },
    close() {
      ws.close(1000);
    },
    destroy() {
      ws.close();
    },
    pause() {
      throw new Error("the global WebSocket cannot stop reading; use websocketImpl: 'net'");
    },
    resume() {
      throw new Error("the global WebSocket cannot stop reading; use websocketImpl: 'net'");
    },
    bufferedAmount() {
      return ws.bufferedAmount;
    },
  };
}

// ---- WebSocket: minimal RFC 6455 client on node:net ---------------------------------------

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export async function openNetWebSocket(
  url: string,
  serializer: Serializer,
  timeoutMs: number,
  events: WireEvents,
): Promise<Wire> {
  const u = new URL(url);
  if (u.protocol !== 'ws:') throw new Error(`only ws: URLs, got ${url}`);
  const socket = await withDeadline(
    tcpConnect(u.hostname.replace(/^\[|\]$/g, ''), Number(u.port || 80)),
    timeoutMs,
    'websocket connect',
    () => undefined,
  );
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${serializer.subprotocol}\r\n\r\n`,
  );
  const { head, rest } = await withDeadline(readHttpHead(socket), timeoutMs, 'websocket upgrade', () =>
    socket.destroy(),
  );
  const expectedAccept = createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
  const status = head.split('\r\n')[0] ?? '';
  const header = (name: string): string | undefined => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim();
  if (!/^HTTP\/1\.1 101\b/.test(status) || header('sec-websocket-accept') !== expectedAccept) {
    socket.destroy();
    throw new Error(`websocket upgrade refused: ${status}`);
  }
  if (header('sec-websocket-protocol') !== serializer.subprotocol) {
    socket.destroy();
    throw new Error(
      `server chose subprotocol '${header('sec-websocket-protocol')}', we asked for ${serializer.subprotocol}`,
    );
  }

  const opcode = serializer.binary ? 0x2 : 0x1;
  let closeInfo: CloseInfo | undefined;
  let sentClose = false;
  const decoder = new WsFrameDecoder();
  const onData = (chunk: Buffer): void => {
    for (const frame of decoder.feed(chunk)) {
      switch (frame.opcode) {
        case 0x1:
        case 0x2:
          events.message(frame.payload);
          break;
        case 0x8: {
          const p = Buffer.from(frame.payload);
          closeInfo =
            p.length >= 2 ? { code: p.readUInt16BE(0), reason: p.subarray(2).toString('utf8') } : { code: 1005 };
          if (!sentClose) {
            sentClose = true;
            socket.write(maskedFrame(0x8, p.subarray(0, 2)));
          }
          socket.end();
          break;
        }
        case 0x9:
          socket.write(maskedFrame(0xa, frame.payload));
          break;
        default:
          break; // pong
      }
    }
    if (decoder.error) {
      socket.destroy();
      closeInfo ??= { error: `client framing error: ${decoder.error}` };
    }
  };
  socket.on('data', onData);
  let socketError: string | undefined;
  socket.on('error', (e: NodeJS.ErrnoException) => {
    socketError ??= e.code ?? e.message;
  });
  socket.once('close', () =>
    events.closed(closeInfo ?? (socketError === undefined ? { code: 1006 } : { code: 1006, error: socketError })),
  );
  if (rest.length > 0) onData(rest);

  return {
    sendMessage(payload) {
      writeCorked(socket, maskedFrame(opcode, typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload));
    },
    sendRaw(bytes, binary) {
      socket.write(maskedFrame(binary === undefined ? opcode : binary ? 0x2 : 0x1, bytes));
    },
    sendFramed() {
      throw new Error('sendFramed is for RawSocket');
    },
    close() {
      if (!sentClose) {
        sentClose = true;
        socket.write(maskedFrame(0x8, Uint8Array.of(0x03, 0xe8)));
      }
    },
    ...socketControls(socket),
  };
}

function readHttpHead(socket: net.Socket): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      cleanup();
      resolve({ head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4) });
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`closed during the HTTP upgrade: ${buf.toString('latin1').slice(0, 200)}`));
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}
