// Which replicated records the Replicator may apply: signed by their writer's admitted key (mesh
// trust, trust/record-signature.ts). Only versions newer than the one held reach it, so each
// version is checked once per node. A bad signature is a forgery by the neighbour that sent it,
// since no member passes a record on unchecked.

import type { Logger } from '../../log.ts';
import { meshDefaults } from '../defaults.ts';
import { LogThrottle } from '../../log-throttle.ts';
import type { NodeId } from '../node-id.ts';
import type { NodeKey } from '../trust/node-key.ts';
import { recordSignatureHolds } from '../trust/record-signature.ts';
import type { ReplicaRecord } from './frames.ts';

/** What replication needs of mesh trust (trust/membership.ts MeshTrust): its key, and the writers'. */
export interface RecordTrust {
  readonly key: NodeKey;
  keyOf(node: NodeId): Uint8Array | undefined;
  isRemoved(node: NodeId): boolean;
}

export class RecordCheck {
  /** Records refused, by why: for `mesh status` (trust.refused). */
  readonly refused = { forgedRecord: 0, unknownWriter: 0, removedWriter: 0 };
  readonly #trust: RecordTrust;
  readonly #logger: Logger;
  readonly #log = new LogThrottle(meshDefaults.integrityLogIntervalMs);

  constructor(trust: RecordTrust, logger: Logger) {
    this.#trust = trust;
    this.#logger = logger;
  }

  /** Whether `r`, from the neighbour `peer`, is signed by its writer's admitted key; a refusal is counted and logged. */
  admits(r: ReplicaRecord, peer: NodeId | undefined): boolean {
    const key = this.#trust.keyOf(r.node);
    let kind: keyof RecordCheck['refused'];
    if (key === undefined) kind = this.#trust.isRemoved(r.node) ? 'removedWriter' : 'unknownWriter';
    else if (!recordSignatureHolds(r, key)) kind = 'forgedRecord';
    else return true;
    this.refused[kind]++;
    const held = this.#log.admit(`${kind}\u0000${peer}\u0000${r.node}`);
    if (held === undefined) return false;
    const fields = { peer, writer: r.node, record: r.key, hlc: r.hlc, suppressed: held };
    if (kind === 'forgedRecord')
      this.#logger.warn(fields, "replication: record not signed by its writer's key (forged); dropped");
    // Expected for a while after a removal, or before a new writer's admission has arrived
    // (anti-entropy brings the record again): not a warning.
    else if (kind === 'removedWriter')
      this.#logger.info(fields, 'replication: record of a removed node; dropped (the others adopted what it wrote)');
    else this.#logger.info(fields, 'replication: record of a node not known as a member yet; dropped for now');
    return false;
  }
}
