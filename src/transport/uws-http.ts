// Asynchronous HTTP routes (http-exchange.ts) on uWebSockets.js. uWS hands the body over in
// chunks it reuses after each callback, answers only inside cork() once the handler has
// returned, and forbids touching a response after onAborted: this file keeps those rules in
// one place so a route sees the same request and sink as on node:http.

import type uWS from '@btc-vision/uwebsockets.js';
import type { Logger } from '../log.ts';
import { Wait, type Deadlines } from '../net/deadlines.ts';
import {
  answer,
  BodyCollector,
  ClientGone,
  isStreamReply,
  type BodyLimits,
  type HttpAnswer,
  type HttpHead,
  type HttpRefusal,
  type HttpReply,
  type HttpRoute,
  type HttpStreamSink,
} from './http-exchange.ts';

// uWS writes the status line as given; HTTP/1.1 wants a reason phrase after the code.
const REASON: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  302: 'Found',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

// The status lines of the codes above, made once: one is written per request.
const STATUS_LINE: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(REASON).map(([code, reason]) => [code, `${code} ${reason}`]),
);

export function statusText(status: number): string {
  return STATUS_LINE[status] ?? `${status} Status`;
}

// How long a refused body is still read (and dropped) before the connection is cut, as on node:http.
const REFUSED_LINGER_MS = 1000;

/**
 * A request as uWS's handler copies it out: the head, and its body once read (empty until
 * then). One object per request: the body is set on it, not on a copy of the head.
 */
export type UwsRequest = HttpHead & { body: Buffer };

export const NO_BODY: Buffer = Buffer.alloc(0);

function writeHead(res: uWS.HttpResponse, status: number, headers: Readonly<Record<string, string>>): void {
  // uWS writes "200 OK" itself before the first header: one call into it fewer for most answers.
  if (status !== 200) res.writeStatus(statusText(status));
  for (const k in headers) res.writeHeader(k, headers[k]!);
}

// The answer being written by endCorked, inside cork() (which calls it at once): one function
// for every answer, not a closure per request.
let corkedRes: uWS.HttpResponse | undefined;
let corkedReply: HttpReply | undefined;
const endCorked = (): void => {
  const res = corkedRes!;
  const a = corkedReply!;
  corkedRes = undefined;
  corkedReply = undefined;
  writeHead(res, a.status, a.headers);
  res.end(a.body);
};

/**
 * Serves one request of an asynchronous route; called inside uWS's route handler. `deadlines`:
 * the listener's, for the body's read time.
 */
export function serveUwsRoute(
  res: uWS.HttpResponse,
  head: UwsRequest,
  route: HttpRoute,
  limits: BodyLimits,
  deadlines: Deadlines,
  log: Logger,
): void {
  const exchange = new UwsExchange(res, head, route, log);
  // uWS calls these two for every request: arrows on the exchange, no closures of their own.
  res.onAborted(exchange.onAborted);
  if (BodyCollector.declaredTooLarge(head, limits)) {
    exchange.refuse('body_too_large');
    return;
  }
  exchange.read(limits, deadlines);
  res.onData(exchange.onData);
}

/**
 * One request on uWS, from its head to the end of its answer: one object per request holding
 * what the callbacks share (state, body, the client's signal), and the wait for its body.
 */
class UwsExchange extends Wait {
  readonly #res: uWS.HttpResponse;
  readonly #head: UwsRequest;
  readonly #route: HttpRoute;
  readonly #log: Logger;
  readonly #gone = new ClientGone();
  #collector: BodyCollector | undefined;
  #linger: NodeJS.Timeout | undefined;
  /** Once true, `res` must not be touched again (answered, or uWS freed it). */
  #done = false;
  #reading = true;
  #aborted = false;

  constructor(res: uWS.HttpResponse, head: UwsRequest, route: HttpRoute, log: Logger) {
    super();
    this.#res = res;
    this.#head = head;
    this.#route = route;
    this.#log = log;
  }

  read(limits: BodyLimits, deadlines: Deadlines): void {
    this.#collector = new BodyCollector(limits);
    deadlines.arm(this, limits.readTimeoutMs);
  }

  /** The body's read time passed. */
  expire(): void {
    this.refuse('body_timeout');
  }

  readonly onAborted = (): void => {
    this.#done = true;
    this.#aborted = true;
    this.#reading = false;
    this.stopWaiting();
    clearTimeout(this.#linger);
    this.#gone.abort();
  };

  readonly onData = (chunk: ArrayBuffer, isLast: boolean): void => {
    if (!this.#reading) {
      if (isLast && this.#linger !== undefined) this.#closeAfterRefusal();
      return;
    }
    // uWS neuters `chunk` when this callback returns: the collector keeps a copy.
    if (!this.#collector!.add(Buffer.from(new Uint8Array(chunk)))) {
      this.refuse('body_too_large');
      return;
    }
    if (!isLast) return;
    this.#reading = false;
    this.stopWaiting();
    const request = this.#head;
    request.body = this.#collector!.body();
    answer(this.#route, request, this.#gone, this.#reply);
  };

  readonly #reply = (a: HttpAnswer): void => {
    if (this.#done) return;
    const res = this.#res;
    try {
      if (!isStreamReply(a)) {
        this.#done = true;
        corkedRes = res;
        corkedReply = a;
        res.cork(endCorked);
        return;
      }
      res.cork(() => {
        writeHead(res, a.status, a.headers);
        // An empty write sends the head and starts chunked encoding, so an event stream is
        // open before its first event.
        res.write('');
      });
      a.stream(
        uwsSink(
          res,
          () => this.#done,
          () => (this.#done = true),
        ),
      );
    } catch (error) {
      this.#log.error({ err: error }, 'http: route failed');
    }
  };

  refuse(why: HttpRefusal): void {
    this.#reading = false;
    this.stopWaiting();
    if (this.#done) return;
    const reply: HttpReply = this.#route.refuse(why, this.#head);
    this.#done = true;
    const res = this.#res;
    // The reply goes out now and the connection closes a moment later (the unread rest of the
    // body cannot be skipped to reach a next request): a client still sending its body would
    // otherwise get a reset for our close, and its kernel would drop the reply unread. What it
    // sends meanwhile is read and dropped.
    res.cork(() => writeRefusal(res, reply));
    this.#linger = setTimeout(() => this.#closeAfterRefusal(), REFUSED_LINGER_MS);
  }

  #closeAfterRefusal(): void {
    clearTimeout(this.#linger);
    this.#linger = undefined;
    // The answer is whole already (writeRefusal): the connection only has to go.
    if (!this.#aborted) this.#res.close();
  }
}

/**
 * A refusal written whole now, on a connection closed later (refuse()): uWS has no call for
 * that. end(body, true) closes at once, so a client still sending gets a reset and loses the
 * answer; end(body) leaves the connection to a client that keeps sending as long as it likes;
 * write(body) now and end(undefined, true) later put "Connection: close" after the body, inside
 * the chunked framing (curl: "Malformed encoding found in chunked-encoding"). So the framing is
 * written here: the last header's value carries the end of the head, the body as one chunk and
 * the last chunk, and uWS's CRLF after that value ends the last chunk. uWS adds nothing more to
 * a response it is never asked to end.
 */
function writeRefusal(res: uWS.HttpResponse, reply: HttpReply): void {
  writeHead(res, reply.status, reply.headers);
  res.writeHeader('Connection', 'close');
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
  const chunk = body.byteLength === 0 ? '' : `${body.byteLength.toString(16)}\r\n`;
  const parts = [
    Buffer.from(`chunked\r\n\r\n${chunk}`),
    body,
    Buffer.from(body.byteLength === 0 ? '0\r\n' : '\r\n0\r\n'),
  ];
  res.writeHeader('Transfer-Encoding', Buffer.concat(parts));
}

function uwsSink(res: uWS.HttpResponse, isGone: () => boolean, markGone: () => void): HttpStreamSink {
  // uWS keeps what the socket did not take; it reports only "backpressure added". The bytes
  // written since the last time it had none stand in for its backlog (an upper bound).
  let backlog = 0;
  let watching = false;
  return {
    write(chunk) {
      if (isGone()) return false;
      let ok = true;
      res.cork(() => {
        ok = res.write(chunk);
      });
      if (ok && backlog === 0) return true;
      backlog += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
      if (!watching) {
        watching = true;
        res.onWritable(() => {
          backlog = 0;
          watching = false;
          return true;
        });
      }
      return false;
    },
    end() {
      if (isGone()) return;
      markGone();
      res.cork(() => res.end());
    },
    destroy() {
      if (isGone()) return;
      markGone();
      res.close();
    },
    bufferedAmount: () => backlog,
  };
}
