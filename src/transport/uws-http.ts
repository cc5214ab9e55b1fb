// Asynchronous HTTP routes (http-exchange.ts) on uWebSockets.js. uWS hands the body over in
// chunks it reuses after each callback, answers only inside cork() once the handler has
// returned, and forbids touching a response after onAborted: this file keeps those rules in
// one place so a route sees the same request and sink as on node:http.

import type uWS from '@btc-vision/uwebsockets.js';
import type { Logger } from '../log.ts';
import {
  answer,
  BodyCollector,
  isStreamReply,
  type BodyLimits,
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

function writeHead(res: uWS.HttpResponse, status: number, headers: Readonly<Record<string, string>>): void {
  res.writeStatus(statusText(status));
  for (const k in headers) res.writeHeader(k, headers[k]!);
}

/** Serves one request of an asynchronous route; called inside uWS's route handler. */
export function serveUwsRoute(
  res: uWS.HttpResponse,
  head: HttpHead,
  route: HttpRoute,
  limits: BodyLimits,
  log: Logger,
): void {
  const abort = new AbortController();
  // Once true, `res` must not be touched again (uWS frees it).
  let gone = false;
  let reading = true;
  let aborted = false;
  let linger: NodeJS.Timeout | undefined;
  res.onAborted(() => {
    gone = true;
    aborted = true;
    reading = false;
    clearTimeout(timer);
    clearTimeout(linger);
    abort.abort();
  });
  const closeAfterRefusal = (): void => {
    clearTimeout(linger);
    linger = undefined;
    if (!aborted) res.cork(() => res.end(undefined, true));
  };
  const refuse = (why: HttpRefusal): void => {
    reading = false;
    clearTimeout(timer);
    if (gone) return;
    const reply: HttpReply = route.refuse(why, head);
    gone = true;
    // The reply goes out now and the connection closes a moment later (the unread rest of the
    // body cannot be skipped to reach a next request): a client still sending its body would
    // otherwise get a reset for our close, and its kernel would drop the reply unread. What it
    // sends meanwhile is read and dropped.
    res.cork(() => {
      writeHead(res, reply.status, reply.headers);
      res.write(reply.body);
    });
    linger = setTimeout(closeAfterRefusal, REFUSED_LINGER_MS);
  };
  const timer = setTimeout(() => refuse('body_timeout'), limits.readTimeoutMs);
  if (BodyCollector.declaredTooLarge(head, limits)) {
    refuse('body_too_large');
    return;
  }
  const collector = new BodyCollector(limits);
  res.onData((chunk, isLast) => {
    if (!reading) {
      if (isLast && linger !== undefined) closeAfterRefusal();
      return;
    }
    // uWS neuters `chunk` when this callback returns: the collector keeps a copy.
    if (!collector.add(Buffer.from(new Uint8Array(chunk)))) {
      refuse('body_too_large');
      return;
    }
    if (!isLast) return;
    reading = false;
    clearTimeout(timer);
    void answer(route, { ...head, body: collector.body() }, abort.signal).then(
      (a) => {
        if (gone) return;
        if (!isStreamReply(a)) {
          gone = true;
          res.cork(() => {
            writeHead(res, a.status, a.headers);
            res.end(a.body);
          });
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
            () => gone,
            () => (gone = true),
          ),
        );
      },
      (error: unknown) => log.error({ err: error }, 'http: route failed'),
    );
  });
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
