// RawClient: one connection to the router, the messages it received, and the few WAMP
// conveniences (join, call, register, subscribe) tests need; see raw-client.ts for why it exists.

import { serializers, type Serializer, type SerializerName } from '../../src/serializers/index.ts';
import type { CloseInfo, Wire, WireEvents } from './raw-wire.ts';
import { openRawSocket } from './raw-wire-rawsocket.ts';
import { openGlobalWebSocket, openNetWebSocket } from './raw-wire-websocket.ts';

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
