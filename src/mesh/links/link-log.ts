// The log lines of the links that a stranger or a broken peer could repeat without end: each
// is throttled (LogThrottle), with the number left unlogged since, so that nobody can flood the
// journal through them.

import type { Logger } from '../../log.ts';
import { LogThrottle } from '../../log-throttle.ts';
import { isRoutedType, type NodeId } from '../routing/frames.ts';
import type { LinkConnection } from './connection.ts';

export class LinkLog {
  readonly #log: Logger;
  /** Oversize frames, logged per (peer, frame type). */
  readonly #oversize: LogThrottle;
  /** Integrity failures, logged per peer. */
  readonly #integrity: LogThrottle;

  constructor(log: Logger, intervals: { oversizeMs: number; integrityMs: number }) {
    this.#log = log;
    this.#oversize = new LogThrottle(intervals.oversizeMs);
    this.#integrity = new LogThrottle(intervals.integrityMs);
  }

  /**
   * Oversize frames, logged at most once per oversizeLogIntervalMs per (peer, frame type), with
   * the number left unlogged since: a stream of large events must not flood the journal. A
   * call's frames are answered (the caller gets wamp.error.payload_size_exceeded), so those are
   * a warning; anything else (an event, an advertisement, replication) is lost: an error.
   */
  tooLarge(peer: NodeId, t: string, size: number, limit: number): void {
    const suppressed = this.#oversize.admit(`${peer}\u0000${t}`);
    if (suppressed === undefined) return;
    const fields = { peer, t, size, limit, ...(suppressed > 0 && { alsoDropped: suppressed }) };
    if (isRoutedType(t))
      this.#log.warn(
        fields,
        "mesh frame exceeds the peer's maximum frame size; not sent, the caller gets wamp.error.payload_size_exceeded",
      );
    else this.#log.error(fields, "mesh frame exceeds the peer's maximum frame size; dropped");
  }

  /**
   * A link closed because frames failed their integrity check, here or (byPeer) at the peer:
   * at most once per integrityLogIntervalMs per peer, with the number left unlogged since.
   */
  integrity(conn: LinkConnection, fields: object, byPeer: boolean): void {
    const suppressed = this.#integrity.admit(conn.peer ?? conn.address);
    if (suppressed === undefined) return;
    const all = { ...fields, ...(suppressed > 0 && { alsoClosed: suppressed }) };
    if (byPeer)
      this.#log.warn(
        all,
        'mesh link closed by the peer: frames from this node failed its integrity check (tampered with or corrupted on the way)',
      );
    else
      this.#log.error(
        all,
        'mesh link closed: a frame failed its integrity check (tampered with or corrupted on the way); it was not acted on',
      );
  }

  handshakeEnd(conn: LinkConnection, code: string, fields: object, byPeer: boolean): void {
    const what = conn.direction === 'out' ? 'mesh dial failed' : 'mesh link refused';
    switch (code) {
      case 'duplicate':
      case 'shutdown':
        this.#log.debug(fields, `${what}: ${code}`);
        return;
      case 'self':
      case 'timeout':
      case 'eof':
      case 'error':
        this.#log.info(fields, what);
        return;
      case 'cluster':
        this.#log.warn(fields, `${what}: the peer belongs to another cluster`);
        return;
      case 'auth':
        this.#log.warn(
          fields,
          `${what}: authentication failed${byPeer ? ' (the peer rejected our proof)' : ''}: is the cluster secret the same on both nodes?`,
        );
        return;
      case 'version':
        this.#log.warn(
          fields,
          `${what}: the peer speaks another link protocol version: every node of a cluster must run a release with the same one`,
        );
        return;
      default:
        this.#log.warn(fields, what);
    }
  }
}
