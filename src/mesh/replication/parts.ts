// Replication frames to a neighbour, in as many parts as it takes. A frame larger than the peer
// takes (mesh.maxFrameBytes, 64 KiB at least) is not sent at all, so a big store (a first sync,
// hundreds of users) goes in halves until each part fits. Halving costs an encoding per try; it
// only happens when a list does not fit.

import type { Logger } from '../../log.ts';
import type { NodeId } from '../node-id.ts';
import type { ReplicaRecord, ReplicationFrame } from './frames.ts';

export interface ReplicationLinks {
  /** 'too-large': over the peer's maximum frame size, nothing sent (anything else: handed on or not, no retry). */
  send(peer: NodeId, frame: ReplicationFrame): 'sent' | 'too-large' | 'failed';
  neighbours(): readonly NodeId[];
}

/** Records to a neighbour, in as many frames as it takes. */
export function pushRecords(
  links: ReplicationLinks | undefined,
  logger: Logger,
  peer: NodeId,
  records: ReplicaRecord[],
): void {
  if (records.length > 0)
    sendInParts(
      links,
      logger,
      peer,
      records,
      (part) => ({ t: 'repl-push', records: part }),
      (r) => `the record ${r.key}`,
    );
}

/** A version list (empty too: the frame itself is the question), in parts marked `more` if need be. */
export function sendVersions(
  links: ReplicationLinks | undefined,
  logger: Logger,
  peer: NodeId,
  versions: [string, string, NodeId, boolean][],
  reply: boolean,
): void {
  sendInParts(
    links,
    logger,
    peer,
    versions,
    (part, last) =>
      last ? { t: 'repl-versions', versions: part, reply } : { t: 'repl-versions', versions: part, reply, more: true },
    (v) => `the version of ${v[0]} (anti-entropy with this peer stops here)`,
  );
}

/**
 * `items` to a neighbour in frames made by `frame` (`last`: no part follows), halving a list
 * that does not fit until every part does; an item too large on its own is logged.
 */
function sendInParts<T>(
  links: ReplicationLinks | undefined,
  logger: Logger,
  peer: NodeId,
  items: T[],
  frame: (part: T[], last: boolean) => ReplicationFrame,
  describe: (item: T) => string,
  last = true,
): void {
  if (links?.send(peer, frame(items, last)) !== 'too-large') return;
  if (items.length <= 1) {
    logger.error(
      { peer },
      `replication: ${items.length === 0 ? 'an empty frame' : describe(items[0]!)} is larger than the peer's maximum frame size; not sent`,
    );
    return;
  }
  const half = items.length >> 1;
  sendInParts(links, logger, peer, items.slice(0, half), frame, describe, false);
  sendInParts(links, logger, peer, items.slice(half), frame, describe, last);
}
