// A minimal WAMP client over real sockets, for hostile/load tests and the benchmark. It knows
// the wire formats and nothing of WAMP semantics beyond a few conveniences (join, call,
// register, subscribe), so a test can send exactly the bytes it wants and see exactly what the
// router answers. Deliberately independent of src/transport: a framing bug there must not be
// mirrored (and hidden) by the same code on the client side.
//
// Transports:
//   rawsocket            node:net, 4-octet handshake, 4-octet frame headers
//   websocket, 'global'  Node 24's WebSocket (undici), the default
//   websocket, 'net'     a small RFC 6455 client on node:net, for what the WHATWG API cannot
//                        do: stop reading (pause), send arbitrary bytes as a text frame.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializers, type Serializer, type SerializerName } from '../../src/serializers/index.ts';
import { startRouter, type RouterProcess } from './router-process.ts';

export type TransportKind = 'rawsocket' | 'websocket';
export type WebSocketImpl = 'global' | 'net';

export interface ConnectOptions {
  transport: TransportKind;
  /** Default json. */
  serializer?: SerializerName | Serializer;
  /** RawSocket: default 127.0.0.1. */
  host?: string;
  /** RawSocket port. */
  port?: number;
  /** WebSocket URL, e.g. ws://127.0.0.1:8080/ws. */
  url?: string;
  websocketImpl?: WebSocketImpl;
  /** RawSocket LENGTH nibble we announce (max message we accept = 2^(9+n)). Default 15. */
  lengthExponent?: number;
  /** Deadline for the connection and transport handshake. Default 5 s. */
  timeoutMs?: number;
  /**
   * Low-overhead mode (benchmark): every incoming message payload goes here undecoded and
   * nothing is queued, so next()/join() cannot be used. Text frames of the global WebSocket
   * arrive as the string undici produced (converting them would cost the generator time).
   */
  onFrame?: (payload: Uint8Array | string) => void;
}

export interface CloseInfo {
  /** WebSocket close code, when the server sent one. */
  code?: number;
  reason?: string;
  /** Socket error that ended the connection (ECONNRESET...). */
  error?: string;
}

/** The RawSocket server refused our handshake; code is the upper nibble of its reply. */
export class HandshakeRefused extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`RawSocket handshake refused with error code ${code}`);
    this.name = 'HandshakeRefused';
    this.code = code;
  }
}

export type Predicate = (message: unknown[]) => boolean;

const DEFAULT_TIMEOUT_MS = 5_000;
const ALL_ROLES = { caller: {}, callee: {}, publisher: {}, subscriber: {} };

function resolveSerializer(s: SerializerName | Serializer | undefined): Serializer {
  if (s === undefined) return serializers[0]!;
  if (typeof s !== 'string') return s;
  const found = serializers.find((x) => x.name === s);
  if (found === undefined) throw new Error(`unknown serializer ${s}`);
  return found;
}

/** Low-level wire: the one thing the three transports differ in. */
interface Wire {
  sendMessage(payload: Uint8Array | string): void;
  /** Bytes onto the connection as they are (RawSocket), or as one message's payload (WebSocket). */
  sendRaw(bytes: Uint8Array, binary?: boolean): void;
  /** RawSocket: one message already framed (header included), corked until the end of the tick. */
  sendFramed(frame: Uint8Array): void;
  close(): void;
  destroy(): void;
  pause(): void;
  resume(): void;
  /** Bytes queued in our process, not yet handed to the kernel. */
  bufferedAmount(): number;
}

interface WireEvents {
  message(payload: Uint8Array | string): void;
  closed(info: CloseInfo): void;
}

interface Waiter {
  readonly predicate: Predicate;
  resolve(message: unknown[]): void;
  reject(error: Error): void;
}

export class RawClient {
  readonly serializer: Serializer;
  readonly transport: TransportKind;
  /** Resolves once the connection is gone, however it ended. */
  readonly closed: Promise<CloseInfo>;
  /** Messages received and not yet taken by next(). */
  readonly inbox: unknown[][] = [];
  /** Total messages received, taken or not. */
  receivedCount = 0;
  /** Octets of the messages received (payloads, without transport framing). */
  receivedOctets = 0;
  sessionId = 0;
  #wire!: Wire;
  #closeInfo: CloseInfo | undefined;
  #resolveClosed!: (info: CloseInfo) => void;
  readonly #waiters: Waiter[] = [];
  #onFrame: ConnectOptions['onFrame'];
  #nextRequest = 1;
  #decodeError: Error | undefined;
  #echo = false;

  private constructor(serializer: Serializer, transport: TransportKind, onFrame: ConnectOptions['onFrame']) {
    this.serializer = serializer;
    this.transport = transport;
    this.#onFrame = onFrame;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  static async connect(options: ConnectOptions): Promise<RawClient> {
    const serializer = resolveSerializer(options.serializer);
    const client = new RawClient(serializer, options.transport, options.onFrame);
    const events: WireEvents = {
      message: (payload) => client.#receive(payload),
      closed: (info) => client.#ended(info),
    };
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (options.transport === 'rawsocket') {
      if (options.port === undefined) throw new Error('rawsocket needs a port');
      client.#wire = await openRawSocket(
        options.host ?? '127.0.0.1',
        options.port,
        serializer,
        options.lengthExponent ?? 15,
        timeoutMs,
        events,
      );
    } else {
      if (options.url === undefined) throw new Error('websocket needs a url');
      client.#wire =
        options.websocketImpl === 'net'
          ? await openNetWebSocket(options.url, serializer, timeoutMs, events)
          : await openGlobalWebSocket(options.url, serializer, timeoutMs, events);
    }
    return client;
  }

  get isClosed(): boolean {
    return this.#closeInfo !== undefined;
  }
  get closeInfo(): CloseInfo | undefined {
    return this.#closeInfo;
  }

  /** A fresh request ID, unique for this client. */
  requestId(): number {
    return this.#nextRequest++;
  }

  send(message: unknown[]): void {
    this.#wire.sendMessage(this.serializer.encode(message));
  }

  /** One already-encoded message (framed for RawSocket; one WebSocket message). */
  sendFrame(payload: Uint8Array | string): void {
    this.#wire.sendMessage(payload);
  }

  /**
   * RawSocket: these bytes onto the TCP stream, unframed. WebSocket: one message with exactly
   * this payload, in the frame type the serializer uses unless `binary` says otherwise (text
   * that is not UTF-8 needs websocketImpl 'net').
   */
  sendRaw(bytes: Uint8Array, binary?: boolean): void {
    this.#wire.sendRaw(bytes, binary);
  }

  /**
   * RawSocket only: one message already framed (its 4-octet header included), corked until the
   * end of the tick like sendFrame(), in one write instead of two (the benchmark's generator).
   */
  sendFramed(frame: Uint8Array): void {
    this.#wire.sendFramed(frame);
  }

  /**
   * The next message matching `predicate` (default: any), first from the inbox, else as it
   * arrives. Rejects on timeout or when the connection closes first, naming what did arrive.
   */
  next(predicate: Predicate = () => true, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<unknown[]> {
    const i = this.inbox.findIndex(predicate);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    if (this.#decodeError) return Promise.reject(this.#decodeError);
    if (this.#closeInfo) return Promise.reject(this.#closedError());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#removeWaiter(waiter);
        reject(new Error(`no matching message within ${timeoutMs} ms; inbox: ${preview(this.inbox)}`));
      }, timeoutMs);
      const waiter: Waiter = {
        predicate,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** HELLO with all four client roles; resolves with the session ID, rejects on ABORT. */
  async join(realm = 'realm1', details: Record<string, unknown> = {}, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<number> {
    this.send([1, realm, { roles: ALL_ROLES, ...details }]);
    const reply = await this.next((m) => m[0] === 2 || m[0] === 3, timeoutMs);
    if (reply[0] === 3) throw new Error(`ABORT on join: ${JSON.stringify(reply)}`);
    this.sessionId = reply[1] as number;
    return this.sessionId;
  }

  /** CALL and its RESULT or ERROR (returned, not thrown: tests look at errors too). */
  async call(
    procedure: string,
    args: unknown[] = [],
    kwargs: Record<string, unknown> = {},
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<unknown[]> {
    const request = this.requestId();
    this.send([48, request, {}, procedure, args, kwargs]);
    return this.next(
      (m) => (m[0] === 50 && m[1] === request) || (m[0] === 8 && m[1] === 48 && m[2] === request),
      timeoutMs,
    );
  }

  async register(procedure: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<number> {
    const request = this.requestId();
    this.send([64, request, {}, procedure]);
    const reply = await this.next((m) => (m[0] === 65 || m[0] === 8) && m[m[0] === 65 ? 1 : 2] === request, timeoutMs);
    if (reply[0] !== 65) throw new Error(`REGISTER ${procedure} failed: ${JSON.stringify(reply)}`);
    return reply[2] as number;
  }

  async subscribe(topic: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<number> {
    const request = this.requestId();
    this.send([32, request, {}, topic]);
    const reply = await this.next((m) => (m[0] === 33 || m[0] === 8) && m[m[0] === 33 ? 1 : 2] === request, timeoutMs);
    if (reply[0] !== 33) throw new Error(`SUBSCRIBE ${topic} failed: ${JSON.stringify(reply)}`);
    return reply[2] as number;
  }

  /**
   * Answers every INVOCATION with a YIELD of its own arguments, for as long as the client is
   * open. The inbox is bypassed, so an echo callee can serve any number of calls.
   */
  serveEcho(): void {
    this.#echo = true;
    for (const m of this.inbox.splice(0)) this.#deliver(m);
  }

  /**
   * Switches to low-overhead mode (see ConnectOptions.onFrame) after, say, join() and
   * subscribe() were done the convenient way. Messages already in the inbox stay there.
   */
  rawMode(onFrame: (payload: Uint8Array | string) => void): void {
    this.#onFrame = onFrame;
  }

  /** Stops reading: the kernel buffers fill and the sender sees backpressure. */
  pause(): void {
    this.#wire.pause();
  }
  resume(): void {
    this.#wire.resume();
  }
  bufferedAmount(): number {
    return this.#wire.bufferedAmount();
  }

  /** Polite close (RawSocket FIN, WebSocket close 1000). */
  close(): Promise<CloseInfo> {
    if (!this.#closeInfo) this.#wire.close();
    return this.closed;
  }

  /** Immediate teardown (RST-like); for cleanup. */
  destroy(): Promise<CloseInfo> {
    if (!this.#closeInfo) this.#wire.destroy();
    return this.closed;
  }

  #receive(payload: Uint8Array | string): void {
    this.receivedOctets += typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (this.#onFrame) {
      this.receivedCount++;
      this.#onFrame(payload);
      return;
    }
    let value: unknown;
    try {
      value = this.serializer.decode(typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload);
    } catch (error) {
      // The router sent something our own serializer cannot read: that is the finding.
      this.#decodeError = new Error(`client could not decode a router message: ${String(error)}`);
      for (const w of this.#waiters.splice(0)) w.reject(this.#decodeError);
      return;
    }
    if (!Array.isArray(value)) {
      this.#decodeError = new Error(`router sent a non-list message: ${JSON.stringify(value)}`);
      for (const w of this.#waiters.splice(0)) w.reject(this.#decodeError);
      return;
    }
    this.receivedCount++;
    this.#deliver(value);
  }

  #deliver(message: unknown[]): void {
    if (this.#echo && message[0] === 68) {
      const yieldMsg: unknown[] = [70, message[1], {}];
      if (message.length > 4) yieldMsg.push(message[4]);
      if (message.length > 5) yieldMsg.push(message[5]);
      this.send(yieldMsg);
      return;
    }
    const i = this.#waiters.findIndex((w) => w.predicate(message));
    if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(message);
    else this.inbox.push(message);
  }

  #ended(info: CloseInfo): void {
    if (this.#closeInfo) return;
    this.#closeInfo = info;
    for (const w of this.#waiters.splice(0)) w.reject(this.#closedError());
    this.#resolveClosed(info);
  }

  #closedError(): Error {
    return new Error(
      `connection closed (${JSON.stringify(this.#closeInfo)}) before a matching message; inbox: ${preview(this.inbox)}`,
    );
  }

  #removeWaiter(waiter: Waiter): void {
    const i = this.#waiters.indexOf(waiter);
    if (i >= 0) this.#waiters.splice(i, 1);
  }
}

export function connect(options: ConnectOptions): Promise<RawClient> {
  return RawClient.connect(options);
}

function preview(messages: unknown[][]): string {
  const text = JSON.stringify(messages.slice(0, 5), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}

/** Rejects after `ms` unless `work` settles first; the timer never outlives the race. */
function withDeadline<T>(work: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${what}: no answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function tcpConnect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

// ---- RawSocket ----------------------------------------------------------------------------

async function openRawSocket(
  host: string,
  port: number,
  serializer: Serializer,
  lengthExponent: number,
  timeoutMs: number,
  events: WireEvents,
): Promise<Wire> {
  const socket = await withDeadline(tcpConnect(host, port), timeoutMs, 'rawsocket connect', () => undefined);
  socket.write(Uint8Array.of(0x7f, ((lengthExponent & 0x0f) << 4) | serializer.rawsocketId, 0, 0));
  const reply = await withDeadline(readExactly(socket, 4), timeoutMs, 'rawsocket handshake', () => socket.destroy());
  if (reply.bytes[0] !== 0x7f || reply.bytes[2] !== 0 || reply.bytes[3] !== 0) {
    socket.destroy();
    throw new Error(`bad RawSocket handshake reply ${Buffer.from(reply.bytes).toString('hex')}`);
  }
  const octet = reply.bytes[1] ?? 0;
  if ((octet & 0x0f) === 0) {
    socket.destroy();
    throw new HandshakeRefused(octet >> 4);
  }
  if ((octet & 0x0f) !== serializer.rawsocketId) {
    socket.destroy();
    throw new Error(`router echoed serializer ${octet & 0x0f}, we asked for ${serializer.rawsocketId}`);
  }
  const routerMax = 2 ** (9 + (octet >> 4));
  const decoder = new RawSocketDecoder();
  const onData = (chunk: Buffer): void => {
    const frames = decoder.feed(chunk);
    for (const frame of frames) {
      if (frame.type === 0) events.message(frame.payload);
      else if (frame.type === 1) writeFrame(socket, 2, frame.payload); // PING -> PONG
    }
    if (decoder.error) {
      socket.destroy();
      events.closed({ error: `client framing error: ${decoder.error}` });
    }
  };
  socket.on('data', onData);
  socket.on('error', () => undefined); // 'close' follows and reports
  let socketError: string | undefined;
  socket.once('error', (e: NodeJS.ErrnoException) => {
    socketError = e.code ?? e.message;
  });
  socket.once('close', () => events.closed(socketError === undefined ? {} : { error: socketError }));
  if (reply.rest.length > 0) onData(Buffer.from(reply.rest));

  return {
    sendMessage(payload) {
      const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
      if (bytes.length > routerMax)
        throw new Error(`message of ${bytes.length} octets exceeds the router's announced ${routerMax}`);
      writeFrame(socket, 0, bytes);
    },
    sendRaw(bytes) {
      socket.write(bytes);
    },
    sendFramed(frame) {
      writeCorked(socket, frame);
    },
    close() {
      socket.end();
    },
    destroy() {
      socket.destroy();
    },
    pause() {
      socket.pause();
    },
    resume() {
      socket.resume();
    },
    bufferedAmount() {
      return socket.writableLength;
    },
  };
}

const corked = new WeakSet<net.Socket>();

/**
 * Header and payload, corked until the end of the tick: a burst of frames (pipelined calls)
 * leaves in one writev rather than two syscalls per frame, which keeps the load generator cheap.
 */
function writeFrame(socket: net.Socket, type: number, payload: Uint8Array): void {
  const n = payload.length;
  writeCorked(socket, Uint8Array.of(type, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff));
  if (n > 0) socket.write(payload);
}

/** Bytes onto the socket, corked until the end of the tick (see writeFrame). */
function writeCorked(socket: net.Socket, bytes: Uint8Array): void {
  if (!corked.has(socket)) {
    corked.add(socket);
    socket.cork();
    process.nextTick(() => {
      corked.delete(socket);
      socket.uncork();
    });
  }
  socket.write(bytes);
}

/** Reads exactly n bytes, and hands back whatever came with them. */
function readExactly(socket: net.Socket, n: number): Promise<{ bytes: Uint8Array; rest: Uint8Array }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < n) return;
      cleanup();
      resolve({ bytes: buf.subarray(0, n), rest: buf.subarray(n) });
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`connection closed after ${buf.length} of ${n} handshake octets`));
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** Client-side RawSocket frame splitter; one allocation per frame that spans reads. */
class RawSocketDecoder {
  error: string | undefined;
  readonly #header = Buffer.alloc(4);
  #headerFill = 0;
  #type = 0;
  #body: Buffer | null = null;
  #bodyFill = 0;

  feed(chunk: Buffer): { type: number; payload: Uint8Array }[] {
    const out: { type: number; payload: Uint8Array }[] = [];
    let off = 0;
    while (off < chunk.length && this.error === undefined) {
      if (this.#body !== null) {
        const n = Math.min(this.#body.length - this.#bodyFill, chunk.length - off);
        chunk.copy(this.#body, this.#bodyFill, off, off + n);
        this.#bodyFill += n;
        off += n;
        if (this.#bodyFill === this.#body.length) {
          out.push({ type: this.#type, payload: this.#body });
          this.#body = null;
        }
        continue;
      }
      const n = Math.min(4 - this.#headerFill, chunk.length - off);
      chunk.copy(this.#header, this.#headerFill, off, off + n);
      this.#headerFill += n;
      off += n;
      if (this.#headerFill < 4) break;
      this.#headerFill = 0;
      const first = this.#header[0]!;
      if (first > 2) {
        this.error = `bad frame header octet 0x${first.toString(16)}`;
        break;
      }
      this.#type = first;
      const length = this.#header.readUIntBE(1, 3);
      if (chunk.length - off >= length) {
        out.push({ type: first, payload: chunk.subarray(off, off + length) });
        off += length;
      } else {
        this.#body = Buffer.allocUnsafe(length);
        this.#bodyFill = 0;
      }
    }
    return out;
  }
}

// ---- WebSocket: Node's global WebSocket ---------------------------------------------------

async function openGlobalWebSocket(
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

async function openNetWebSocket(
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
    destroy() {
      socket.destroy();
    },
    pause() {
      socket.pause();
    },
    resume() {
      socket.resume();
    },
    bufferedAmount() {
      return socket.writableLength;
    },
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

/** A client frame: FIN set, masked (RFC 6455 5.3 requires clients to mask). */
export function maskedFrame(opcode: number, payload: Uint8Array): Buffer {
  const n = payload.length;
  const lenBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const out = Buffer.allocUnsafe(2 + lenBytes + 4 + n);
  out[0] = 0x80 | opcode;
  if (lenBytes === 0) out[1] = 0x80 | n;
  else if (lenBytes === 2) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  const maskAt = 2 + lenBytes;
  nextMaskKey(out, maskAt);
  for (let i = 0; i < n; i++) out[maskAt + 4 + i] = payload[i]! ^ out[maskAt + (i & 3)]!;
  return out;
}

// Masking keys are random, as RFC 6455 wants, but drawn 4 at a time from a pooled block: a
// crypto call per frame would cost the benchmark's load generator more than the frame itself.
let maskPool = randomBytes(4096);
let maskAt = 0;
function nextMaskKey(out: Buffer, at: number): void {
  if (maskAt === maskPool.length) {
    maskPool = randomBytes(4096);
    maskAt = 0;
  }
  maskPool.copy(out, at, maskAt, maskAt + 4);
  maskAt += 4;
}

/** Server-to-client frames (unmasked), with continuation frames reassembled. */
class WsFrameDecoder {
  error: string | undefined;
  #buf: Buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #fragmentOpcode = 0;

  feed(chunk: Buffer): { opcode: number; payload: Uint8Array }[] {
    const out: { opcode: number; payload: Uint8Array }[] = [];
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) break;
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      if (b[1]! & 0x80) {
        this.error = 'server frame is masked';
        break;
      }
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + len) break;
      const payload = b.subarray(at, at + len);
      this.#buf = b.subarray(at + len);
      if (opcode >= 0x8) {
        out.push({ opcode, payload });
        continue;
      }
      if (opcode !== 0) this.#fragmentOpcode = opcode;
      if (fin && this.#fragments.length === 0) {
        out.push({ opcode, payload });
        continue;
      }
      this.#fragments.push(Buffer.from(payload));
      if (fin) {
        out.push({ opcode: this.#fragmentOpcode, payload: Buffer.concat(this.#fragments) });
        this.#fragments = [];
      }
    }
    // Keep the unconsumed tail in its own buffer so a big chunk is not pinned by a small tail.
    if (this.#buf.length > 0 && this.#buf.length < 65536) this.#buf = Buffer.from(this.#buf);
    return out;
  }
}

// ---- bare TCP, for handshake-level hostility ----------------------------------------------

export interface TcpProbe {
  readonly socket: net.Socket;
  /** Everything the server sent so far. */
  received(): Buffer;
  /** Resolves when the connection is closed by either side. */
  readonly closed: Promise<void>;
  /**
   * Resolves when the server has ended its side (FIN), or the connection is gone: a client
   * still writing may see its own close only much later, when the server's linger ends.
   */
  readonly ended: Promise<void>;
}

/** A plain TCP connection that records what the server sends and when it hangs up. */
export async function openTcp(port: number, host = '127.0.0.1'): Promise<TcpProbe> {
  const socket = await tcpConnect(host, port);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined); // ECONNRESET on a server destroy is an expected ending
  return probeOf(socket, chunks);
}

/** The TcpProbe of a connected socket whose 'data' go into `chunks`. */
export function probeOf(socket: net.Socket, chunks: Buffer[]): TcpProbe {
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const ended = new Promise<void>((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
  return { socket, received: () => Buffer.concat(chunks), closed, ended };
}

/** Resolves when `p` does; rejects with `what` if that takes longer than `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(p, ms, what, () => undefined);
}

/** Polls `check` until it holds or the deadline passes (for state visible only by polling). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---- fixtures shared by the hostile, load and bench code ----------------------------------

/** Where a router listens, as router-process.ts reports it. */
export interface Endpoints {
  readonly rawsocketPort: number;
  readonly wsUrl: string;
}

/**
 * A long-lived echo callee plus a check that the router still serves: a fresh client (a
 * different transport/serializer each time) joins and completes a call round-trip, and the
 * callee, another session that lived through whatever happened, answers it.
 */
export class EchoService {
  readonly procedure: string;
  readonly callee: RawClient;
  readonly #endpoints: Endpoints;
  #checks = 0;

  private constructor(endpoints: Endpoints, callee: RawClient, procedure: string) {
    this.#endpoints = endpoints;
    this.callee = callee;
    this.procedure = procedure;
  }

  static async start(endpoints: Endpoints, procedure = 'probe.echo'): Promise<EchoService> {
    const callee = await connect({ transport: 'rawsocket', port: endpoints.rawsocketPort, serializer: 'cbor' });
    await callee.join();
    await callee.register(procedure);
    callee.serveEcho();
    return new EchoService(endpoints, callee, procedure);
  }

  /** Throws, saying what failed, unless a fresh client completes a call within `timeoutMs`. */
  async assertServing(timeoutMs = 5_000): Promise<void> {
    if (this.callee.isClosed)
      throw new Error(`the long-lived callee session was closed: ${JSON.stringify(this.callee.closeInfo)}`);
    const combos = [
      ['rawsocket', 'json'],
      ['websocket', 'msgpack'],
      ['rawsocket', 'cbor'],
      ['websocket', 'json'],
      ['rawsocket', 'msgpack'],
      ['websocket', 'cbor'],
    ] as const;
    const [transport, serializer] = combos[this.#checks++ % combos.length]!;
    const client = await connect({
      transport,
      serializer,
      port: this.#endpoints.rawsocketPort,
      url: this.#endpoints.wsUrl,
      timeoutMs,
    });
    try {
      await client.join('realm1', {}, timeoutMs);
      const token = `alive-${this.#checks}`;
      const reply = await client.call(this.procedure, [token], {}, timeoutMs);
      if (reply[0] !== 50 || JSON.stringify(reply[3]) !== JSON.stringify([token])) {
        throw new Error(`probe call over ${transport}/${serializer} got ${JSON.stringify(reply)}`);
      }
    } finally {
      await client.destroy();
    }
  }

  async stop(): Promise<void> {
    await this.callee.destroy();
  }
}

/**
 * The real router process with a config file (limits etc.; realm1 anonymous by default), on
 * loopback ports the OS picks. The file is only read at start, so it is removed once listening.
 */
export async function startConfiguredRouter(config: Record<string, unknown>): Promise<RouterProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'wampmesh-cfg-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  try {
    return await startRouter({ args: ['--config', file, '--ws', '127.0.0.1:0', '--rawsocket', '127.0.0.1:0'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Resident set size of a process, from /proc/<pid>/status (Linux). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Whether a process exists (signal 0 checks without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
