// What all MQTT connections of one endpoint (a TCP listener, a WebSocket path) share: the
// options, the registry of sessions by client identity (shared across endpoints, so a client
// may move between them), and one timer for connect timeouts, keep-alive and session expiry.

import type { PeerAcceptor } from '../router/peer.ts';
import { MqttConnection, type MqttTransport } from './connection.ts';
import type { MqttOptions } from './options.ts';
import { restoreSessions } from './restore.ts';
import type { SessionRegistry } from './session.ts';

const TICK_MS = 1000; // keep-alive is counted in seconds

export class MqttHub {
  readonly options: MqttOptions;
  readonly #acceptor: PeerAcceptor;
  readonly #registry: SessionRegistry;
  readonly #connections = new Set<MqttConnection>();
  readonly #ticker: NodeJS.Timeout;

  constructor(acceptor: PeerAcceptor, options: MqttOptions, registry: SessionRegistry) {
    this.options = options;
    this.#acceptor = acceptor;
    this.#registry = registry;
    // Sessions whose clients stayed away past their expiry while the router was down.
    options.sessions?.purgeExpired(Date.now());
    // The others are back in the router before any client connects, queueing for theirs.
    const restored = restoreSessions(acceptor, options, registry);
    if (restored > 0) options.logger?.info({ realm: options.realm, restored }, 'mqtt: kept sessions restored');
    this.#ticker = setInterval(() => this.tick(Date.now()), TICK_MS);
    this.#ticker.unref();
  }

  /** Live MQTT connections (for tests and metrics). */
  get connections(): ReadonlySet<MqttConnection> {
    return this.#connections;
  }

  accept(transport: MqttTransport): MqttConnection {
    const connection = new MqttConnection(transport, this.#acceptor, this.options, this.#registry, Date.now());
    this.#connections.add(connection);
    return connection;
  }

  /** The transport under `connection` closed. */
  closed(connection: MqttConnection): void {
    this.#connections.delete(connection);
    this.#guard(() => connection.transportClosed(Date.now()));
  }

  tick(now: number): void {
    // Every second over every client: no closure or copy per client (garbage an idle router
    // would make 10,000 times a second). A Map may lose entries while iterated (an expired
    // session leaves the registry); the ones left are still visited.
    for (const c of this.#connections) {
      try {
        c.tick(now);
      } catch (err) {
        this.#internalError(err);
      }
    }
    // Detached persistent sessions expire here too (they have no connection).
    for (const s of this.#registry.values()) {
      try {
        s.tick(now);
      } catch (err) {
        this.#internalError(err);
      }
    }
  }

  /** Socket events and timers: a throw there would be uncaught and end the process (a failing disk under persistence.ts, a bug). */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#internalError(err);
    }
  }

  #internalError(err: unknown): void {
    this.options.logger?.error({ err: (err as Error).message, stack: (err as Error).stack }, 'mqtt: internal error');
  }

  close(): void {
    clearInterval(this.#ticker);
    this.#guard(() => this.options.sessions?.flush());
  }
}
