// Router-to-router links over TCP (optionally TLS): the LinkDriver behind MeshNode.
//
// Wire format: links/framing.ts. Handshake and its cryptography: links/auth.ts. Integrity of the
// frames after it (without TLS): links/integrity.ts. One connection's state machine:
// links/connection.ts. Heartbeats: links/heartbeat.ts. The choice of one connection per peer:
// links/link-choice.ts. This file owns the listener, dialing, static seeds, and the calls into
// the mesh.
//
// Calls into the mesh never happen re-entrantly from inside a LinkDriver call (mesh-calls.ts).

import type net from 'node:net';
import { silentLogger, type Logger } from '../../log.ts';
import { encodeFrame } from './envelope.ts';
import { formatHostPort as formatAddress, remoteAddress } from '../../net/address.ts';
import type { NodeId, OutgoingFrame } from '../routing/frames.ts';
import type { FrameSendResult, LinkDriver } from '../routing/link-driver.ts';
import { clusterIdOf, linkKey, newInstanceId, type CloseCode } from './auth.ts';
import { LinkConnection, type LinkHost } from './connection.ts';
import { MAX_FRAME } from './framing.ts';
import { Heartbeat } from './heartbeat.ts';
import { LinkChoice } from './link-choice.ts';
import { LinkLog } from './link-log.ts';
import { MeshCallQueue } from './mesh-calls.ts';
import { checkOptions, type MeshLinksOptions, type MeshLinksStatus, type PeerAddress } from './options.ts';
import { Seeds } from './seeds.ts';
import { handshakeStatuses, linkStatuses } from './status.ts';
import { createLinkServer, dialLinkSocket } from './sockets.ts';
import { meshDefaults } from '../defaults.ts';
import { MeshTrust } from '../trust/membership.ts';
import { NodeKey } from '../trust/node-key.ts';

export type { LinkStatus, MeshLinksOptions, MeshLinksStatus, PeerAddress } from './options.ts';

/** The part of MeshNode the links report to. */
export interface MeshEndpoint {
  linkUp(peer: NodeId): void;
  linkDown(peer: NodeId): void;
  dialFailed(peer: NodeId): void;
  /** Returns a reason when the frame is invalid: the link is then closed. */
  receive(peer: NodeId, value: unknown): string | undefined;
}

export class MeshLinks implements LinkDriver, LinkHost {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly instanceId = newInstanceId();
  readonly key: Uint8Array;
  readonly trust: MeshTrust;
  readonly maxFrameBytes: number;
  readonly maxQueuedBytes: number;
  readonly heartbeatIntervalMs: number;
  readonly deadAfterMs: number;
  readonly handshakeTimeoutMs: number;
  readonly #maxPending: number;
  readonly #listen: { host: string; port: number };
  readonly #tls: MeshLinksOptions['tls'];
  readonly #log: Logger;

  #mesh: MeshEndpoint | undefined;
  #server: net.Server | undefined;
  #bound: { host: string; port: number } | undefined;
  #state: 'new' | 'started' | 'closed' = 'new';
  readonly #heartbeat: Heartbeat;
  readonly #choice: LinkChoice;

  readonly #addresses = new Map<NodeId, PeerAddress>();
  readonly #seeds: Seeds;
  readonly #conns = new Set<LinkConnection>();
  /** The one connection carrying each peer's link. */
  readonly #active = new Map<NodeId, LinkConnection>();
  /** Dials the mesh asked for, by the node they are for. */
  readonly #dials = new Map<NodeId, LinkConnection>();

  readonly #linkLog: LinkLog;
  readonly #calls: MeshCallQueue;
  /** Links closed for a failed integrity check, here or at the peer (for /metrics). */
  integrityFailures = 0;

  constructor(options: MeshLinksOptions) {
    const problem = checkOptions(options);
    if (problem !== undefined) throw new RangeError(`mesh links: ${problem}`);
    this.nodeId = options.nodeId;
    this.clusterId = clusterIdOf(options.clusterName);
    this.key = linkKey(options.clusterSecret);
    this.trust =
      options.trust ??
      new MeshTrust({ self: options.nodeId, key: NodeKey.generate(), secretJoin: true, now: Date.now });
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? meshDefaults.heartbeatIntervalMs;
    this.deadAfterMs = options.deadAfterMs ?? meshDefaults.deadAfterMs;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? meshDefaults.handshakeTimeoutMs;
    this.maxFrameBytes = Math.min(options.maxFrameBytes ?? meshDefaults.maxFrameBytes, MAX_FRAME);
    this.maxQueuedBytes = options.maxQueuedBytes ?? meshDefaults.maxQueuedFrames * this.maxFrameBytes;
    this.#maxPending = options.maxPendingHandshakes ?? meshDefaults.maxPendingHandshakes;
    this.#listen = options.listen;
    this.#tls = options.tls;
    this.#log = (options.logger ?? silentLogger).child({ component: 'mesh-links', node: this.nodeId });
    this.#linkLog = new LinkLog(this.#log, {
      oversizeMs: options.oversizeLogIntervalMs ?? meshDefaults.oversizeLogIntervalMs,
      integrityMs: options.integrityLogIntervalMs ?? meshDefaults.integrityLogIntervalMs,
    });
    this.#calls = new MeshCallQueue(this.#log);
    this.#seeds = new Seeds({
      dial: (host, port) => this.#dial(host, port, undefined, true),
      started: () => this.#state === 'started',
      retryMs: options.seedRetryMs ?? meshDefaults.seedRetryMs,
      retryMaxMs: options.seedRetryMaxMs ?? meshDefaults.seedRetryMaxMs,
      log: this.#log,
    });
    this.#choice = new LinkChoice({
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      log: this.#log,
      active: this.#active,
      dials: this.#dials,
      linkUp: (peer) => this.#calls.emit(() => this.#mesh?.linkUp(peer)),
      linkDown: (peer) => this.#calls.emit(() => this.#mesh?.linkDown(peer)),
    });
    this.#heartbeat = new Heartbeat({
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      deadAfterMs: this.deadAfterMs,
      log: this.#log,
      links: () => this.#active.values(),
    });
    if (options.clusterSecret.length < 16)
      this.#log.warn(
        {},
        'mesh cluster secret is shorter than 16 characters: a recorded handshake lets it be guessed offline',
      );
  }

  attach(mesh: MeshEndpoint): void {
    this.#mesh = mesh;
  }

  /** Listens; resolves with the bound port (the real one when port 0 was asked for). */
  async start(): Promise<{ port: number }> {
    if (this.#state !== 'new') throw new Error('mesh links: start() called twice or after close()');
    if (this.#mesh === undefined) throw new Error('mesh links: attach(mesh) before start()');
    const server = createLinkServer(this.#tls, this.handshakeTimeoutMs, this.#log, (socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.#listen.host, port: this.#listen.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.#log.error({ err: error.message }, 'mesh link listener error'));
    this.#server = server;
    const bound = server.address() as net.AddressInfo;
    this.#bound = { host: bound.address, port: bound.port };
    this.#state = 'started';
    this.#heartbeat.start();
    this.#log.info(
      { address: formatAddress(bound.address, bound.port), tls: this.#tls !== undefined, cluster: this.clusterId },
      'mesh links listening',
    );
    this.#seeds.dialAll();
    return { port: bound.port };
  }

  /** Where a node can be dialed (from discovery or configuration). */
  setPeerAddress(nodeId: NodeId, address: PeerAddress): void {
    if (nodeId === this.nodeId) return;
    this.#addresses.set(nodeId, { host: address.host, port: address.port });
  }

  /**
   * A static seed: an address whose node id is not known yet. It is dialed (and retried with
   * backoff) until a handshake succeeds; its id is then learned and reported with linkUp, and
   * from then on the mesh redials it by id like any other node.
   */
  addSeed(host: string, port: number): void {
    if (this.#state === 'closed') return;
    this.#seeds.add(host, port);
  }

  // ---- LinkDriver ------------------------------------------------------------------------------

  connect(peer: NodeId): void {
    this.#calls.driver(() => {
      if (this.#state !== 'started' || peer === this.nodeId) {
        this.#calls.emit(() => this.#mesh?.dialFailed(peer));
        return;
      }
      if (this.#active.has(peer)) {
        this.#calls.emit(() => this.#mesh?.linkUp(peer));
        return;
      }
      if (this.#dials.has(peer)) return; // its outcome will be reported
      const address = this.#addresses.get(peer);
      if (address === undefined) {
        this.#log.debug({ peer }, 'mesh dial: no known address');
        this.#calls.emit(() => this.#mesh?.dialFailed(peer));
        return;
      }
      const conn = this.#dial(address.host, address.port, peer, this.#seeds.isSeed(peer, address));
      this.#dials.set(peer, conn);
      this.#seeds.dialedFor(peer, address, conn);
    });
  }

  disconnect(peer: NodeId, options: { dead?: string; removed?: string } = {}): void {
    this.#calls.driver(() => {
      const conn = this.#active.get(peer);
      // A dead link cannot carry a goodbye: closed at once, as the heartbeat closes a silent one.
      if (options.dead !== undefined) conn?.close('dead', options.dead, { destroy: true });
      else if (options.removed !== undefined) conn?.close('removed', options.removed);
      else conn?.close('disconnect', 'link dropped by the mesh (redundant)');
    });
  }

  /**
   * Sends a frame. 'too-large': over the peer's maximum frame size (its hello's "max"); nothing
   * is sent, the link stays up, and the mesh tells whoever is waiting. 'failed': no link, the
   * frame cannot be encoded, or the link just failed.
   */
  send(peer: NodeId, frame: OutgoingFrame): FrameSendResult {
    const conn = this.#active.get(peer);
    if (conn === undefined) return 'failed';
    let item: Uint8Array;
    try {
      item = encodeFrame(frame);
    } catch (error) {
      this.#log.error({ peer, t: frame.t, err: (error as Error).message }, 'mesh frame cannot be encoded; dropped');
      return 'failed';
    }
    // Alone in its envelope, behind the array's one-octet head.
    if (item.length + 1 > conn.peerMax) {
      this.#linkLog.tooLarge(peer, frame.t, item.length + 1, conn.peerMax);
      return 'too-large';
    }
    this.#calls.enter(); // as driver(), without a closure per frame
    try {
      return conn.sendMeshFrame(item) ? 'sent' : 'failed';
    } finally {
      this.#calls.leave();
    }
  }

  // ---- status and shutdown -----------------------------------------------------------------

  status(): MeshLinksStatus {
    return {
      node: this.nodeId,
      cluster: this.clusterId,
      listening: this.#bound,
      tls: this.#tls !== undefined,
      links: linkStatuses(this.#active, performance.now()),
      handshakes: handshakeStatuses(this.#conns),
      seeds: this.#seeds.status(),
    };
  }

  /** Closes every link (peers are told: "shutdown") and the listener. Reports linkDown for each. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const wasStarted = this.#state === 'started';
    this.#state = 'closed';
    this.#heartbeat.stop();
    this.#seeds.stop();
    const gone = [...this.#conns].map((c) => c.gone);
    for (const conn of [...this.#conns]) conn.close('shutdown', 'node shutting down');
    if (wasStarted && this.#server !== undefined) {
      const server = this.#server;
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), ...gone]);
    } else {
      await Promise.all(gone);
    }
    this.#log.info({}, 'mesh links closed');
  }

  // ---- LinkHost (called by connections) ----------------------------------------------------

  get nodeKey(): NodeKey {
    return this.trust.key;
  }

  admit(peer: NodeId, key: Uint8Array): { code: CloseCode; reason: string } | undefined {
    return this.trust.admitPeer(peer, key);
  }

  authenticated(conn: LinkConnection): void {
    const peer = conn.peer!;
    const seedAddress = this.#seeds.authenticated(conn, peer);
    if (seedAddress !== undefined) this.#addresses.set(peer, seedAddress);
    if (conn.expected !== undefined && conn.expected !== peer) {
      // A seed address answered with another node (the seed restarted with a new id).
      const old = conn.expected;
      this.#log.info({ address: conn.address, was: old, now: peer }, 'mesh seed address now belongs to another node');
      if (this.#dials.get(old) === conn) this.#dials.delete(old);
      const addr = this.#addresses.get(old);
      if (addr !== undefined && formatAddress(addr.host, addr.port) === conn.address) this.#addresses.delete(old);
      this.#calls.emit(() => this.#mesh?.dialFailed(old));
      conn.expected = undefined;
    }
    if (this.nodeId < peer) this.#choice.decide(conn);
    // Otherwise the peer decides, and says "use" (-> used) or closes this one as a duplicate.
  }

  used(conn: LinkConnection): void {
    this.#choice.used(conn);
  }

  meshFrames(conn: LinkConnection, frames: readonly unknown[]): void {
    const peer = conn.peer!;
    // One call for the envelope (a tick's frames): in order, as one call per frame would run them.
    this.#calls.emit(() => {
      for (const value of frames) {
        if (conn.state !== 'up') return; // an earlier frame closed the link
        let reason: string | undefined;
        try {
          reason = this.#mesh?.receive(peer, value);
        } catch (error) {
          this.#log.error({ peer, err: (error as Error).message }, 'mesh failed to handle a frame');
          reason = `frame handling failed: ${(error as Error).message}`;
        }
        if (reason !== undefined) conn.close('invalid-frame', `invalid frame: ${reason}`);
      }
    });
  }

  closed(conn: LinkConnection, code: CloseCode | string, reason: string, byPeer: boolean): void {
    this.#conns.delete(conn);
    const peer = conn.peer;
    const wasActive = peer !== undefined && this.#active.get(peer) === conn;
    const fields = { peer, address: conn.address, direction: conn.direction, code, reason };
    if (code === 'integrity') {
      this.integrityFailures++;
      if (wasActive) this.#active.delete(peer);
      this.#linkLog.integrity(
        conn,
        wasActive ? { ...fields, uptimeMs: Math.round(performance.now() - conn.upAt) } : fields,
        byPeer,
      );
      if (wasActive) this.#calls.emit(() => this.#mesh?.linkDown(peer));
    } else if (wasActive) {
      this.#active.delete(peer);
      const level = code === 'shutdown' || code === 'disconnect' ? 'info' : 'warn';
      this.#log[level]({ ...fields, uptimeMs: Math.round(performance.now() - conn.upAt) }, 'mesh link down');
      this.#calls.emit(() => this.#mesh?.linkDown(peer));
    } else if (code !== 'replaced') {
      this.#linkLog.handshakeEnd(conn, code, fields, byPeer);
    }
    const expected = conn.expected;
    if (expected !== undefined && this.#dials.get(expected) === conn) {
      this.#dials.delete(expected);
      // A duplicate dial "succeeded": the link it asked for exists.
      if (!wasActive)
        this.#calls.emit(() =>
          this.#active.has(expected) ? this.#mesh?.linkUp(expected) : this.#mesh?.dialFailed(expected),
        );
    }
    this.#seeds.closed(conn, code);
  }

  // ---- internals -------------------------------------------------------------------------------

  #accept(socket: net.Socket): void {
    if (this.#state !== 'started') {
      socket.destroy();
      return;
    }
    let pending = 0;
    for (const c of this.#conns) if (c.direction === 'in' && c.state !== 'up') pending++;
    if (pending >= this.#maxPending) {
      this.#log.debug({ from: remoteAddress(socket) }, 'mesh link port: too many handshakes in progress; dropped');
      socket.destroy();
      return;
    }
    const conn = new LinkConnection(this, socket, {
      direction: 'in',
      address: remoteAddress(socket),
      handshakeTimeoutMs: this.handshakeTimeoutMs,
      verifyPeer: this.#tls?.ca !== undefined,
    });
    this.#conns.add(conn);
  }

  #dial(host: string, port: number, expected: NodeId | undefined, anyNode: boolean): LinkConnection {
    const t = this.#tls;
    const socket = dialLinkSocket(host, port, t);
    const conn = new LinkConnection(this, socket, {
      direction: 'out',
      address: formatAddress(host, port),
      anyNode,
      handshakeTimeoutMs: this.handshakeTimeoutMs,
      readyEvent: t === undefined ? 'connect' : 'secureConnect',
      verifyPeer: t?.ca !== undefined,
      ...(expected !== undefined && { expected }),
    });
    this.#conns.add(conn);
    return conn;
  }
}
