// An in-memory Peer for testing the sans-IO core: frames the router sends are decoded and
// queued; the test sends typed messages or raw frames.

import type { CloseReason, Peer, PeerAcceptor, PeerHandler, TransportInfo } from '../../src/router/peer.ts';
import type { Serializer } from '../../src/serializers/serializer.ts';
import { json } from '../../src/serializers/index.ts';
import { toArray } from '../../src/wamp/marshal.ts';
import type { Message } from '../../src/wamp/messages.ts';

export class MemoryClient {
  readonly received: unknown[][] = [];
  /** The frames behind `received`, as the router sent them. */
  readonly frames: Uint8Array[] = [];
  readonly handler: PeerHandler;
  closed = false;
  /** What the core passed to peer.close(), once it closed us. */
  closeReason: CloseReason | undefined;
  buffered = 0;
  readonly serializer: Serializer;

  /** `info`: what else the transport says of the client (a TLS client certificate). */
  constructor(
    acceptor: PeerAcceptor,
    serializer: Serializer = json,
    peerAddress = '127.0.0.1:1',
    local = true,
    info: Partial<TransportInfo> = {},
  ) {
    this.serializer = serializer;
    const peer: Peer = {
      serializer,
      info: { type: 'memory', peer: peerAddress, local, ...info },
      send: (frame) => {
        if (this.closed) return;
        this.frames.push(frame);
        this.received.push(serializer.decode(frame) as unknown[]);
      },
      bufferedAmount: () => this.buffered,
      close: (reason = 'normal') => {
        if (this.closed) return;
        this.closed = true;
        this.closeReason = reason;
        this.handler.closed();
      },
    };
    this.handler = acceptor.attach(peer);
  }

  send(message: Message | unknown[]): void {
    const array = Array.isArray(message) ? message : toArray(message);
    this.handler.receive(this.serializer.encode(array));
  }

  sendRaw(frame: Uint8Array | string): void {
    this.handler.receive(typeof frame === 'string' ? Buffer.from(frame) : frame);
  }

  /** Removes and returns everything received so far. */
  take(): unknown[][] {
    this.frames.splice(0);
    return this.received.splice(0);
  }

  last(): unknown[] | undefined {
    return this.received.at(-1);
  }

  /** HELLO with all four roles; returns the session ID from WELCOME. */
  join(realm = 'realm1', details: Record<string, unknown> = {}): number {
    this.send([1, realm, { roles: { caller: {}, callee: {}, publisher: {}, subscriber: {} }, ...details }]);
    const welcome = this.take().find((m) => m[0] === 2);
    if (welcome === undefined) throw new Error(`no WELCOME; got ${JSON.stringify(this.received)}`);
    return welcome[1] as number;
  }
}

/** The message with every dict shown as '{}', to compare shapes without details. */
export function shape(message: unknown[] | undefined): unknown[] | undefined {
  return message?.map((v) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) ? '{}' : v,
  );
}
