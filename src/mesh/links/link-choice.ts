// The choice of one connection per peer for MeshLinks (links/links.ts), whose tables these are.
//
// One connection per peer: when both nodes dial each other at once, the node with the lower id
// decides. It says "use" on the first connection to authenticate and closes any later one as a
// duplicate; the other node waits for that word before reporting linkUp. A single decider means
// both ends always agree, and no mesh frame is ever sent on a connection that is then dropped.
// A connection from a restarted peer (a new instance id in its hello) replaces the old one at
// once (linkDown then linkUp, so calls through the old process fail fast) instead of waiting
// for the old one's heartbeats to run out.

import type { Logger } from '../../log.ts';
import type { NodeId } from '../routing/frames.ts';
import type { LinkConnection } from './connection.ts';

/** MeshLinks' tables and reports, as the choice needs them. */
export interface LinkChoiceHost {
  readonly heartbeatIntervalMs: number;
  readonly log: Logger;
  /** The one connection carrying each peer's link. */
  readonly active: Map<NodeId, LinkConnection>;
  /** Dials the mesh asked for, by the node they are for. */
  readonly dials: Map<NodeId, LinkConnection>;
  linkUp(peer: NodeId): void;
  linkDown(peer: NodeId): void;
}

export class LinkChoice {
  readonly #host: LinkChoiceHost;

  constructor(host: LinkChoiceHost) {
    this.#host = host;
  }

  /** The peer (the lower node id) said "use" on this connection. */
  used(conn: LinkConnection): void {
    const peer = conn.peer!;
    const existing = this.#host.active.get(peer);
    if (existing !== undefined && existing !== conn) this.#replace(existing, conn);
    else this.#activate(conn);
  }

  /** Run on the node with the lower id: is this connection the link? */
  decide(conn: LinkConnection): void {
    const peer = conn.peer!;
    const existing = this.#host.active.get(peer);
    if (existing === undefined) {
      conn.sendControl({ c: 'use' }); // before any mesh frame linkUp may trigger
      this.#activate(conn);
    } else if (existing.peerInstance !== conn.peerInstance) {
      conn.sendControl({ c: 'use' });
      this.#replace(existing, conn);
    } else {
      conn.close('duplicate', `a link to ${peer} exists already`);
    }
  }

  #activate(conn: LinkConnection): void {
    const peer = conn.peer!;
    this.#host.active.set(peer, conn);
    conn.markUp();
    if (this.#host.dials.get(peer) === conn) this.#host.dials.delete(peer);
    this.#host.log.info({ peer, address: conn.address, direction: conn.direction, tls: conn.tls }, 'mesh link up');
    this.#host.linkUp(peer);
  }

  /** A newer connection takes over: the old one's process is gone (or its peer says so). */
  #replace(old: LinkConnection, conn: LinkConnection): void {
    const peer = conn.peer!;
    this.#host.active.set(peer, conn);
    old.close('replaced', 'superseded by a newer connection', { destroy: true });
    conn.markUp();
    if (this.#host.dials.get(peer) === conn) this.#host.dials.delete(peer);
    this.#host.log.info(
      { peer, address: conn.address, direction: conn.direction, old: old.address },
      'mesh link replaced by a new connection (peer restarted?)',
    );
    if (performance.now() - old.lastReceived < 2 * this.#host.heartbeatIntervalMs) {
      // The old process was alive a moment ago: two running nodes may share one id.
      this.#host.log.warn(
        { peer },
        'mesh link replaced while the old connection was still live: do two nodes use the same node id?',
      );
    }
    // Calls in flight through the old connection went to a process that is gone: fail them.
    this.#host.linkDown(peer);
    this.#host.linkUp(peer);
  }
}
