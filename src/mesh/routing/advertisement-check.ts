// Which advertisements MeshNode may use: signed by their origin's admitted key (mesh trust,
// trust/lsa-signature.ts). Only one newer than the one held is checked (the others are dropped
// anyway): flooding brings each from several neighbours, and those copies cost nothing. A bad
// signature is a forgery by the neighbour that sent it, since no member floods one on unchecked.

import type { Logger } from '../../log.ts';
import { meshDefaults } from '../defaults.ts';
import { LogThrottle } from '../../log-throttle.ts';
import { lsaSignatureHolds } from '../trust/lsa-signature.ts';
import type { MeshTrust } from '../trust/membership.ts';
import type { Lsa, NodeId } from './frames.ts';
import type { LinkStateDb } from './link-state.ts';

/** Advertisements of nodes not known as members yet, held for a second look. */
const PARKED_MAX = 64;

export class AdvertisementCheck {
  /** Advertisements refused, by why: for status and /metrics. */
  readonly refused = { forgedLsa: 0, unknownOrigin: 0, removedOrigin: 0 };
  readonly #trust: MeshTrust;
  readonly #lsdb: LinkStateDb;
  readonly #logger: Logger;
  readonly #log = new LogThrottle(meshDefaults.integrityLogIntervalMs);
  /**
   * The latest advertisement of each node not known as a member when it came (its admission may
   * be on its way by another path). Bounded: anyone can send these.
   */
  readonly #parked = new Map<NodeId, { peer: NodeId; lsa: Lsa }>();

  constructor(trust: MeshTrust, lsdb: LinkStateDb, logger: Logger) {
    this.#trust = trust;
    this.#lsdb = lsdb;
    this.#logger = logger;
  }

  /** Whether `lsa`, from the neighbour `peer`, may be used; a refusal is counted and logged. */
  admits(peer: NodeId, lsa: Lsa): boolean {
    if (lsa.origin !== this.#lsdb.self && !this.#lsdb.isNewer(lsa)) return true;
    const key = this.#trust.keyOf(lsa.origin);
    let refusal: { kind: keyof AdvertisementCheck['refused']; why: string } | undefined;
    if (key === undefined)
      refusal = this.#trust.isRemoved(lsa.origin)
        ? { kind: 'removedOrigin', why: 'advertisement of a removed node; dropped' }
        : { kind: 'unknownOrigin', why: 'advertisement of a node that is not admitted; dropped' };
    else if (!lsaSignatureHolds(lsa, key))
      refusal = { kind: 'forgedLsa', why: "advertisement not signed by its origin's key (forged); dropped" };
    if (refusal === undefined) return true;
    this.refused[refusal.kind]++;
    if (refusal.kind === 'unknownOrigin') {
      this.#parked.delete(lsa.origin);
      if (this.#parked.size >= PARKED_MAX) this.#parked.delete(this.#parked.keys().next().value!);
      this.#parked.set(lsa.origin, { peer, lsa });
    }
    const held = this.#log.admit(`${refusal.kind}\u0000${peer}\u0000${lsa.origin}`);
    if (held !== undefined)
      this.#logger.warn({ peer, origin: lsa.origin, seq: lsa.seq, suppressed: held }, `mesh: ${refusal.why}`);
    return false;
  }

  /** The parked advertisements whose origin is a member now: to be received again. */
  takeAdmitted(): { peer: NodeId; lsa: Lsa }[] {
    const ready: { peer: NodeId; lsa: Lsa }[] = [];
    for (const [origin, parked] of [...this.#parked]) {
      if (this.#trust.keyOf(origin) === undefined) continue;
      this.#parked.delete(origin);
      ready.push(parked);
    }
    return ready;
  }
}
