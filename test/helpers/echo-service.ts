// A long-lived echo callee and a "does the router still serve?" check, shared by the hostile,
// load and bench code to show a router survived whatever a test did to it.

import { connect, type RawClient } from './raw-connection.ts';

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
