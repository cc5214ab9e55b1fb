// The overlay: which peers this node links to. Discovered peers are dialed with backoff until
// the node has minLinks (stable peers first, then at random so nodes do not all pick the same
// one); a discovered peer the mesh cannot reach is linked to as well, so islands merge; above
// maxLinks, one redundant link is dropped per tick. Sans-IO like the rest of MeshNode: dials and
// drops go to the LinkDriver.

import type { Logger } from '../../log.ts';
import type { MeshConfig } from '../config.ts';
import type { MeshTrust } from '../trust/membership.ts';
import type { NodeId } from './frames.ts';
import type { LinkDriver } from './link-driver.ts';
import type { LinkStateDb } from './link-state.ts';

interface Peer {
  failures: number;
  nextDialAt: number;
  discovered: boolean;
}

export class Overlay {
  readonly #self: NodeId;
  readonly #config: MeshConfig;
  readonly #driver: LinkDriver;
  readonly #lsdb: LinkStateDb;
  readonly #trust: MeshTrust | undefined;
  readonly #logger: Logger;
  readonly #random: () => number;
  /** The peers with a link up (owned by MeshNode). */
  readonly #active: ReadonlySet<NodeId>;
  /** A redundant link was dropped: MeshNode's linkDown. */
  readonly #dropped: (peer: NodeId) => void;
  readonly #peers = new Map<NodeId, Peer>();
  readonly #dialing = new Set<NodeId>();

  constructor(options: {
    self: NodeId;
    config: MeshConfig;
    driver: LinkDriver;
    lsdb: LinkStateDb;
    trust: MeshTrust | undefined;
    logger: Logger;
    random: () => number;
    active: ReadonlySet<NodeId>;
    dropped: (peer: NodeId) => void;
  }) {
    this.#self = options.self;
    this.#config = options.config;
    this.#driver = options.driver;
    this.#lsdb = options.lsdb;
    this.#trust = options.trust;
    this.#logger = options.logger;
    this.#random = options.random;
    this.#active = options.active;
    this.#dropped = options.dropped;
  }

  peerDiscovered(peer: NodeId): void {
    if (peer === this.#self) return;
    const known = this.#peers.get(peer);
    if (known === undefined) this.#peers.set(peer, { failures: 0, nextDialAt: 0, discovered: true });
    else if (!known.discovered) {
      // It reappeared (a partition healed, a board came back): dial it now, not after the
      // backoff its failures built up while it was away.
      known.discovered = true;
      known.failures = 0;
      known.nextDialAt = 0;
    }
  }

  peerLost(peer: NodeId): void {
    const known = this.#peers.get(peer);
    if (known !== undefined) known.discovered = false;
  }

  linkUp(peer: NodeId): void {
    this.#dialing.delete(peer);
    this.peerDiscovered(peer);
    const known = this.#peers.get(peer)!;
    known.failures = 0;
  }

  dialFailed(peer: NodeId, now: number): void {
    this.#dialing.delete(peer);
    const known = this.#peers.get(peer);
    if (known === undefined) return;
    known.failures++;
    known.nextDialAt =
      now + Math.min(this.#config.dialBackoffMaxMs, this.#config.dialBackoffMs * 2 ** (known.failures - 1));
  }

  /** A dial for `peer` is over, whatever its outcome. */
  dialEnded(peer: NodeId): void {
    this.#dialing.delete(peer);
  }

  /** A link that was up went down: redialed after dialBackoffMs. */
  linkDown(peer: NodeId, now: number): void {
    const known = this.#peers.get(peer);
    if (known !== undefined) known.nextDialAt = now + this.#config.dialBackoffMs;
  }

  /** A node removed from the mesh: never dialed again. */
  forget(node: NodeId): void {
    this.#peers.delete(node);
  }

  status(): { dialing: NodeId[]; known: { id: NodeId; discovered: boolean; failures: number }[] } {
    return {
      dialing: [...this.#dialing].sort(),
      known: [...this.#peers].map(([id, p]) => ({ id, discovered: p.discovered, failures: p.failures })),
    };
  }

  maintain(now: number): void {
    const { minLinks, maxLinks, maxDialsInFlight } = this.#config;
    const dialable = [...this.#peers]
      .filter(
        ([id, p]) =>
          !this.#active.has(id) &&
          !this.#dialing.has(id) &&
          p.nextDialAt <= now &&
          this.#trust?.isRemoved(id) !== true &&
          (p.discovered || this.#lsdb.reachable(id)),
      )
      // Stable peers first (fewest failures), then random so nodes don't all pick the same one.
      .map(([id, p]) => ({ id, rank: p.failures + this.#random() }))
      .sort((a, b) => a.rank - b.rank);
    const dial = (id: NodeId) => {
      this.#dialing.add(id);
      this.#driver.connect(id);
    };
    for (const { id } of dialable) {
      if (this.#active.size + this.#dialing.size >= minLinks || this.#dialing.size >= maxDialsInFlight) break;
      dial(id);
    }
    // Having minLinks is not enough: a few nodes can link only among themselves and form an
    // island. A discovered peer that the mesh cannot reach is another island: link to it
    // (within maxLinks), and the two merge.
    if (this.#dialing.size < maxDialsInFlight && this.#active.size + this.#dialing.size < maxLinks) {
      const stranger = dialable.find(({ id }) => this.#peers.get(id)!.discovered && !this.#lsdb.reachable(id));
      if (stranger !== undefined && !this.#dialing.has(stranger.id)) dial(stranger.id);
    }
    if (this.#active.size > maxLinks) {
      // Drop one redundant link per tick: never one that disconnects anything, and only where
      // the other side keeps more than its minimum too.
      const droppable = [...this.#active]
        .filter((p) => (this.#lsdb.get(p)?.links.length ?? 0) > minLinks && this.#lsdb.connectedWithout(p))
        .sort();
      const victim = droppable.at(-1);
      if (victim !== undefined) {
        this.#logger.info({ peer: victim }, 'dropping redundant mesh link');
        this.#driver.disconnect(victim);
        this.#dropped(victim);
      }
    }
  }
}
