// Static seeds: addresses whose node id is not known yet. Each is dialed (and retried with
// backoff) until a handshake succeeds; its id is then learned and reported with linkUp, and from
// then on the mesh redials it by id like any other node. A seed that turns out to be this node
// itself is never dialed again.

import type { Logger } from '../../log.ts';
import { formatHostPort } from '../../net/address.ts';
import type { NodeId } from '../routing/frames.ts';
import type { CloseCode } from './auth.ts';
import type { LinkConnection } from './connection.ts';
import type { MeshLinksStatus, PeerAddress } from './options.ts';

interface Seed {
  readonly host: string;
  readonly port: number;
  readonly address: string;
  node: NodeId | undefined;
  linked: boolean;
  self: boolean;
  failures: number;
  conn: LinkConnection | undefined;
  timer: NodeJS.Timeout | undefined;
}

export interface SeedOptions {
  /** Dials an address for any node. */
  dial(host: string, port: number): LinkConnection;
  /** Whether the links are started (dials wait until then, and stop after close). */
  started(): boolean;
  retryMs: number;
  retryMaxMs: number;
  log: Logger;
}

/** Close codes of a peer that refused this node's membership (trust/membership.ts). */
const NOT_LET_IN: ReadonlySet<string> = new Set(['not-admitted', 'removed', 'key-mismatch']);

export class Seeds {
  readonly #options: SeedOptions;
  readonly #seeds: Seed[] = [];
  readonly #seedOf = new Map<LinkConnection, Seed>();

  constructor(options: SeedOptions) {
    this.#options = options;
  }

  add(host: string, port: number): void {
    const address = formatHostPort(host, port);
    if (this.#seeds.some((s) => s.address === address)) return;
    const seed: Seed = {
      host,
      port,
      address,
      node: undefined,
      linked: false,
      self: false,
      failures: 0,
      conn: undefined,
      timer: undefined,
    };
    this.#seeds.push(seed);
    if (this.#options.started()) this.#dial(seed);
  }

  dialAll(): void {
    for (const seed of this.#seeds) this.#dial(seed);
  }

  /** A dial the mesh asked for, to `peer` at a seed's address: it counts for that seed. */
  dialedFor(peer: NodeId, address: PeerAddress, conn: LinkConnection): void {
    const seed = this.#seeds.find((s) => s.node === peer && s.host === address.host && s.port === address.port);
    if (seed !== undefined) this.#seedOf.set(conn, seed);
  }

  /** Whether `peer` at `address` is a seed's node (its dial may then reach any node). */
  isSeed(peer: NodeId, address: PeerAddress): boolean {
    return this.#seeds.some((s) => s.node === peer && s.host === address.host && s.port === address.port);
  }

  /** The connection authenticated `peer`: the address of its seed, if any, now belongs to that node. */
  authenticated(conn: LinkConnection, peer: NodeId): PeerAddress | undefined {
    const seed = this.#seedOf.get(conn);
    if (seed === undefined) return undefined;
    seed.node = peer;
    seed.linked = true;
    seed.failures = 0;
    return { host: seed.host, port: seed.port };
  }

  closed(conn: LinkConnection, code: CloseCode | string): void {
    const seed = this.#seedOf.get(conn);
    if (seed === undefined) return;
    this.#seedOf.delete(conn);
    if (seed.conn === conn) seed.conn = undefined;
    if (code === 'self') {
      seed.self = true;
      this.#options.log.info({ address: seed.address }, 'mesh seed is this node itself; not dialed again');
    } else if (!seed.linked) this.#retry(seed);
    else if (conn.upAt === 0 && NOT_LET_IN.has(code)) {
      // This side authenticated the peer, but the peer did not let this node in (not admitted
      // yet, say): no link came of it, so the seed is dialed again (an administrator may admit
      // this node meanwhile).
      seed.linked = false;
      this.#retry(seed);
    }
  }

  stop(): void {
    for (const seed of this.#seeds) clearTimeout(seed.timer);
  }

  status(): MeshLinksStatus['seeds'] {
    return this.#seeds.map((s) => ({
      address: s.address,
      ...(s.node !== undefined && { node: s.node }),
      state: s.self
        ? ('self' as const)
        : s.linked
          ? ('linked' as const)
          : s.conn !== undefined
            ? ('dialing' as const)
            : ('waiting' as const),
    }));
  }

  #dial(seed: Seed): void {
    if (!this.#options.started() || seed.self || seed.linked || seed.conn !== undefined) return;
    seed.timer = undefined;
    const conn = this.#options.dial(seed.host, seed.port);
    seed.conn = conn;
    this.#seedOf.set(conn, seed);
  }

  #retry(seed: Seed): void {
    if (!this.#options.started() || seed.timer !== undefined) return;
    const { retryMs, retryMaxMs } = this.#options;
    const delay = Math.min(retryMaxMs, retryMs * 2 ** seed.failures) * (0.8 + 0.4 * Math.random());
    seed.failures = Math.min(seed.failures + 1, 10);
    seed.timer = setTimeout(() => this.#dial(seed), delay);
    seed.timer.unref();
  }
}
