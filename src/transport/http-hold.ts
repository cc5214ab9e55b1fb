// How long a node:http connection may hold its place (http-server.ts). A listener holds a
// bounded number of connections (64, gateway.maxConnections), so each must move on or go:
// one that never completes a request head, or does not take an answer it asked for, is
// destroyed. Destroyed, not ended: node:http sockets are half-open, and end() leaves one open
// (and counted against maxConnections) for as long as the client keeps its side open.
// Each phase of a connection has its own bound:
// - until a request head is complete: HoldLimits.headersMs from the connection's start, and
//   keepAliveMs + headersMs from the end of its last answer. A deadline from a fixed start, not
//   an idle timer: a client dripping a byte at a time (or blank lines between requests, which
//   the parser skips without starting a request) is not "active".
// - a request body: its route's BodyLimits (http-server.ts serveAsync); the answer: its route.
// - a plain answer: taken whole by the client's connection within HoldLimits.writeMs of being
//   written, or the connection is cut and its memory freed (a client that asks for 10 MB and
//   never reads would otherwise hold them until it leaves). Streamed answers watch their own
//   unwritten bytes (HttpStreamSink.bufferedAmount).

import type http from 'node:http';
import type { Socket } from 'node:net';
import { type Deadlines, Wait } from '../net/deadlines.ts';

export interface HoldLimits {
  /** A request head must be complete this long after the connection opened. */
  readonly headersMs: number;
  /** Idle time between requests on a kept-alive connection (advertised in Keep-Alive). */
  readonly keepAliveMs: number;
  /** A plain answer must be taken whole this long after it was written. */
  readonly writeMs: number;
}

// What a clientError is answered with, when nothing else is being written on the connection.
const TIMED_OUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';
const TOO_LARGE = 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n';
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';

/** One connection: its wait for the next request head, and its answers not yet done. */
class Connection extends Wait {
  readonly socket: Socket;
  /** Requests whose answers are not done (pipelined ones included). */
  open = 0;
  /** socket.bytesRead when the wait for a head began: more by its end is a head begun. */
  #readBefore = 0;

  constructor(socket: Socket) {
    super();
    this.socket = socket;
  }

  /** Waits `ms` for the next request head. */
  awaitHead(deadlines: Deadlines, ms: number): void {
    this.#readBefore = this.socket.bytesRead;
    deadlines.arm(this, ms);
  }

  /** No complete request head in time: 408 to a client that began one (as node:http does), then gone. */
  expire(): void {
    if (this.socket.bytesRead > this.#readBefore && this.socket.writable) this.socket.write(TIMED_OUT);
    this.socket.destroy();
  }
}

/** One plain answer being written: the wait for the client to take it. */
class Answer extends Wait {
  readonly #res: http.ServerResponse;
  readonly #socket: Socket;
  readonly #deadlines: Deadlines;
  readonly #ms: number;

  constructor(res: http.ServerResponse, socket: Socket, deadlines: Deadlines, ms: number) {
    super();
    this.#res = res;
    this.#socket = socket;
    this.#deadlines = deadlines;
    this.#ms = ms;
  }

  expire(): void {
    if (this.#res.writableFinished) return;
    // Pipelined behind an answer still under way (node:http writes them in order): its time
    // starts when it gets the connection, and the one before it is bounded by its own wait.
    if (this.#res.socket === null) this.#deadlines.arm(this, this.#ms);
    // A reset, not a close: a close would leave the unsent part in the kernel, sent on for
    // minutes to a client that does not read (an orphaned connection holding its buffer).
    else this.#socket.resetAndDestroy();
  }
}

export class ConnectionHolds {
  readonly #limits: HoldLimits;
  readonly #deadlines: Deadlines;
  readonly #connections = new WeakMap<Socket, Connection>();

  constructor(limits: HoldLimits, deadlines: Deadlines) {
    this.#limits = limits;
    this.#deadlines = deadlines;
  }

  /** A new connection: its first request head is due within headersMs. */
  opened(socket: Socket): void {
    const c = new Connection(socket);
    this.#connections.set(socket, c);
    c.awaitHead(this.#deadlines, this.#limits.headersMs);
    socket.once('close', () => c.stopWaiting());
  }

  /** A request head arrived: no head is due until its answer is done. */
  request(req: http.IncomingMessage, res: http.ServerResponse): void {
    const c = this.#connections.get(req.socket);
    if (c === undefined) return;
    c.stopWaiting();
    c.open++;
    // 'close' comes once the answer is done or the connection is gone.
    res.once('close', () => {
      if (--c.open === 0 && !c.socket.destroyed)
        c.awaitHead(this.#deadlines, this.#limits.keepAliveMs + this.#limits.headersMs);
    });
  }

  /** A plain answer was written in full (res.end): the client has writeMs to take it. */
  written(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (res.writableFinished) return;
    const answer = new Answer(res, req.socket, this.#deadlines, this.#limits.writeMs);
    this.#deadlines.arm(answer, this.#limits.writeMs);
    res.once('close', () => answer.stopWaiting());
  }

  /**
   * node:http's 'clientError' (a malformed request, a head not complete within headersTimeout):
   * an answer if nothing else is being written on the connection, then the connection goes.
   */
  clientError(err: Error & { code?: string }, socket: Socket): void {
    const busy = (this.#connections.get(socket)?.open ?? 0) > 0;
    if (socket.writable && !busy && err.code !== 'ECONNRESET') {
      // Written at once into the kernel's buffer of a connection that has taken nothing else.
      socket.write(
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? TIMED_OUT
          : err.code === 'HPE_HEADER_OVERFLOW'
            ? TOO_LARGE
            : BAD_REQUEST,
      );
    }
    socket.destroy();
  }
}
