// Router-to-router links over TCP (optionally TLS): the LinkDriver behind MeshNode.
//
// Wire format: link-framing.ts. Handshake and its cryptography: link-auth.ts. Integrity of the
// frames after it (without TLS): link-integrity.ts. One connection's state machine:
// link-connection.ts. This file owns the listener, dialing, static seeds, the choice of one
// connection per peer, heartbeats, and the calls into the mesh.
//
// One connection per peer: when both nodes dial each other at once, the node with the lower id
// decides. It says "use" on the first connection to authenticate and closes any later one as a
// duplicate; the other node waits for that word before reporting linkUp. A single decider means
// both ends always agree, and no mesh frame is ever sent on a connection that is then dropped.
// A connection from a restarted peer (a new instance id in its hello) replaces the old one at
// once (linkDown then linkUp, so calls through the old process fail fast) instead of waiting
// for the old one's heartbeats to run out.
//
// Calls into the mesh never happen re-entrantly from inside a LinkDriver call (connect, send,
// disconnect): they are queued and run in order once the mesh's own call has returned.

import net from 'node:net';
import tls from 'node:tls';
import { silentLogger, type Logger } from '../log.ts';
import { cbor } from '../serializers/cbor.ts';
import { unmapIPv4 } from '../transport/rawsocket-server.ts';
import type { MeshFrame, NodeId } from './frames.ts';
import type { FrameSendResult, LinkDriver } from './mesh-node.ts';
import { clusterIdOf, linkKey, newInstanceId, type CloseCode } from './link-auth.ts';
import { LinkConnection, type Direction, type LinkHost } from './link-connection.ts';
import { MAX_FRAME } from './link-framing.ts';
import { LogThrottle } from './log-throttle.ts';
import { FRAME_BYTES_MIN, meshDefaults } from './defaults.ts';

/** The part of MeshNode the links report to. */
export interface MeshEndpoint {
  linkUp(peer: NodeId): void;
  linkDown(peer: NodeId): void;
  dialFailed(peer: NodeId): void;
  /** Returns a reason when the frame is invalid: the link is then closed. */
  receive(peer: NodeId, value: unknown): string | undefined;
}

export interface PeerAddress { readonly host: string; readonly port: number }

export interface MeshLinksOptions {
  nodeId: NodeId;
  /** Nodes with another cluster name are refused (they are told apart by a hash of the name). */
  clusterName: string;
  /** Shared by every node of the cluster; proves membership. Never sent, never logged. */
  clusterSecret: string;
  listen: { host: string; port: number };
  /** Encrypts links. With `ca`, peers must also present a certificate it signed (mutual TLS). */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer | (string | Buffer)[] };
  // Timings and limits: see defaults.ts for what each means and why its default.
  heartbeatIntervalMs?: number;
  deadAfterMs?: number;
  handshakeTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Default: meshDefaults.maxQueuedFrames x maxFrameBytes. */
  maxQueuedBytes?: number;
  maxPendingHandshakes?: number;
  seedRetryMs?: number;
  seedRetryMaxMs?: number;
  oversizeLogIntervalMs?: number;
  integrityLogIntervalMs?: number;
  logger?: Logger;
}

export interface LinkStatus {
  peer: NodeId;
  address: string;
  direction: Direction;
  tls: boolean;
  /** Round-trip time of the last heartbeat, ms (undefined until the first PONG). */
  rttMs: number | undefined;
  uptimeMs: number;
  /** Since the last octet from the peer. */
  silentMs: number;
  bytesIn: number;
  bytesOut: number;
  queuedBytes: number;
}

export interface MeshLinksStatus {
  node: NodeId;
  cluster: string;
  listening: { host: string; port: number } | undefined;
  tls: boolean;
  links: LinkStatus[];
  handshakes: { address: string; direction: Direction; state: string; peer?: NodeId }[];
  seeds: { address: string; node?: NodeId; state: 'dialing' | 'waiting' | 'linked' | 'self' }[];
}

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

export class MeshLinks implements LinkDriver, LinkHost {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly instanceId = newInstanceId();
  readonly key: Uint8Array;
  readonly maxFrameBytes: number;
  readonly maxQueuedBytes: number;
  readonly heartbeatIntervalMs: number;
  readonly deadAfterMs: number;
  readonly handshakeTimeoutMs: number;
  readonly #maxPending: number;
  readonly #seedRetryMs: number;
  readonly #seedRetryMaxMs: number;
  readonly #listen: { host: string; port: number };
  readonly #tls: MeshLinksOptions['tls'];
  readonly #log: Logger;

  #mesh: MeshEndpoint | undefined;
  #server: net.Server | undefined;
  #bound: { host: string; port: number } | undefined;
  #state: 'new' | 'started' | 'closed' = 'new';
  #ticker: NodeJS.Timeout | undefined;
  readonly #tickMs: number;
  #lastTick = 0;
  #skippedLast = false;

  readonly #addresses = new Map<NodeId, PeerAddress>();
  readonly #seeds: Seed[] = [];
  readonly #seedOf = new Map<LinkConnection, Seed>();
  readonly #conns = new Set<LinkConnection>();
  /** The one connection carrying each peer's link. */
  readonly #active = new Map<NodeId, LinkConnection>();
  /** Dials the mesh asked for, by the node they are for. */
  readonly #dials = new Map<NodeId, LinkConnection>();

  /** Oversize frames, logged per (peer, frame type). */
  readonly #oversize: LogThrottle;
  /** Integrity failures, logged per peer. */
  readonly #integrity: LogThrottle;
  /** Links closed for a failed integrity check, here or at the peer (for /metrics). */
  integrityFailures = 0;

  readonly #queue: (() => void)[] = [];
  #flushing = false;
  #flushScheduled = false;
  #driverDepth = 0;

  constructor(options: MeshLinksOptions) {
    const problem = checkOptions(options);
    if (problem !== undefined) throw new RangeError(`mesh links: ${problem}`);
    this.nodeId = options.nodeId;
    this.clusterId = clusterIdOf(options.clusterName);
    this.key = linkKey(options.clusterSecret);
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? meshDefaults.heartbeatIntervalMs;
    this.deadAfterMs = options.deadAfterMs ?? meshDefaults.deadAfterMs;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? meshDefaults.handshakeTimeoutMs;
    this.maxFrameBytes = Math.min(options.maxFrameBytes ?? meshDefaults.maxFrameBytes, MAX_FRAME);
    this.maxQueuedBytes = options.maxQueuedBytes ?? meshDefaults.maxQueuedFrames * this.maxFrameBytes;
    this.#maxPending = options.maxPendingHandshakes ?? meshDefaults.maxPendingHandshakes;
    this.#seedRetryMs = options.seedRetryMs ?? meshDefaults.seedRetryMs;
    this.#seedRetryMaxMs = options.seedRetryMaxMs ?? meshDefaults.seedRetryMaxMs;
    this.#oversize = new LogThrottle(options.oversizeLogIntervalMs ?? meshDefaults.oversizeLogIntervalMs);
    this.#integrity = new LogThrottle(options.integrityLogIntervalMs ?? meshDefaults.integrityLogIntervalMs);
    this.#listen = options.listen;
    this.#tls = options.tls;
    this.#log = (options.logger ?? silentLogger).child({ component: 'mesh-links', node: this.nodeId });
    // Often enough that death is noticed within a fraction of a heartbeat of the deadline.
    this.#tickMs = Math.min(250, Math.max(10, Math.floor(this.heartbeatIntervalMs / 4)));
    if (options.clusterSecret.length < 16) this.#log.warn({}, 'mesh cluster secret is shorter than 16 characters: a recorded handshake lets it be guessed offline');
  }

  attach(mesh: MeshEndpoint): void {
    this.#mesh = mesh;
  }

  /** Listens; resolves with the bound port (the real one when port 0 was asked for). */
  async start(): Promise<{ port: number }> {
    if (this.#state !== 'new') throw new Error('mesh links: start() called twice or after close()');
    if (this.#mesh === undefined) throw new Error('mesh links: attach(mesh) before start()');
    const server = this.#tls === undefined
      ? net.createServer({ noDelay: true }, (socket) => this.#accept(socket))
      : tls.createServer({
        cert: this.#tls.cert, key: this.#tls.key, ca: this.#tls.ca,
        // Verified in the link layer (LinkConnection) rather than by OpenSSL, so that both ends
        // log why a certificate was refused; nothing is sent to an unverified peer either way.
        requestCert: this.#tls.ca !== undefined, rejectUnauthorized: false,
        handshakeTimeout: this.handshakeTimeoutMs, minVersion: 'TLSv1.2',
      }, (socket) => this.#accept(socket));
    if (server instanceof tls.Server) {
      server.on('tlsClientError', (error, socket) => {
        this.#log.info({ from: remoteAddress(socket), err: error.message }, 'mesh link port: TLS handshake failed (a plain-TCP mesh node, a WAMP client, or a certificate the CA did not sign?)');
      });
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.#listen.host, port: this.#listen.port }, () => { server.off('error', reject); resolve(); });
    });
    server.on('error', (error) => this.#log.error({ err: error.message }, 'mesh link listener error'));
    this.#server = server;
    const bound = server.address() as net.AddressInfo;
    this.#bound = { host: bound.address, port: bound.port };
    this.#state = 'started';
    this.#lastTick = performance.now();
    this.#ticker = setInterval(() => this.#tick(), this.#tickMs);
    this.#ticker.unref();
    this.#log.info({ address: formatAddress(bound.address, bound.port), tls: this.#tls !== undefined, cluster: this.clusterId }, 'mesh links listening');
    for (const seed of this.#seeds) this.#dialSeed(seed);
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
    const address = formatAddress(host, port);
    if (this.#seeds.some((s) => s.address === address)) return;
    const seed: Seed = { host, port, address, node: undefined, linked: false, self: false, failures: 0, conn: undefined, timer: undefined };
    this.#seeds.push(seed);
    if (this.#state === 'started') this.#dialSeed(seed);
  }

  // ---- LinkDriver ------------------------------------------------------------------------------

  connect(peer: NodeId): void {
    this.#driverDepth++;
    try {
      if (this.#state !== 'started' || peer === this.nodeId) {
        this.#emit(() => this.#mesh?.dialFailed(peer));
        return;
      }
      if (this.#active.has(peer)) {
        this.#emit(() => this.#mesh?.linkUp(peer));
        return;
      }
      if (this.#dials.has(peer)) return; // its outcome will be reported
      const address = this.#addresses.get(peer);
      if (address === undefined) {
        this.#log.debug({ peer }, 'mesh dial: no known address');
        this.#emit(() => this.#mesh?.dialFailed(peer));
        return;
      }
      const seed = this.#seeds.find((s) => s.node === peer && s.host === address.host && s.port === address.port);
      const conn = this.#dial(address.host, address.port, peer, seed !== undefined);
      this.#dials.set(peer, conn);
      if (seed !== undefined) this.#seedOf.set(conn, seed);
    } finally {
      this.#driverDepth--;
    }
  }

  disconnect(peer: NodeId): void {
    this.#driverDepth++;
    try {
      this.#active.get(peer)?.close('disconnect', 'link dropped by the mesh (redundant)');
    } finally {
      this.#driverDepth--;
    }
  }

  /**
   * Sends a frame. 'too-large': over the peer's maximum frame size (its hello's "max"); nothing
   * is sent, the link stays up, and the mesh tells whoever is waiting. 'failed': no link, the
   * frame cannot be encoded, or the link just failed.
   */
  send(peer: NodeId, frame: MeshFrame): FrameSendResult {
    const conn = this.#active.get(peer);
    if (conn === undefined) return 'failed';
    this.#driverDepth++;
    try {
      let payload: Uint8Array;
      try {
        payload = cbor.encode([frame]);
      } catch (error) {
        this.#log.error({ peer, t: frame.t, err: (error as Error).message }, 'mesh frame cannot be encoded; dropped');
        return 'failed';
      }
      if (payload.length > conn.peerMax) {
        this.#logTooLarge(peer, frame.t, payload.length, conn.peerMax);
        return 'too-large';
      }
      return conn.sendMesh(payload) ? 'sent' : 'failed';
    } finally {
      this.#driverDepth--;
    }
  }

  // ---- status and shutdown -----------------------------------------------------------------

  status(): MeshLinksStatus {
    const now = performance.now();
    const links: LinkStatus[] = [...this.#active].map(([peer, c]) => ({
      peer, address: c.address, direction: c.direction, tls: c.tls,
      rttMs: c.rttMs === undefined ? undefined : Math.round(c.rttMs * 100) / 100,
      uptimeMs: Math.round(now - c.upAt), silentMs: Math.round(now - c.lastReceived),
      bytesIn: c.bytesIn, bytesOut: c.bytesOut, queuedBytes: c.queuedBytes,
    })).sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
    const handshakes = [...this.#conns].filter((c) => c.state !== 'up' && c.state !== 'closed')
      .map((c) => ({ address: c.address, direction: c.direction, state: c.state, ...(c.peer !== undefined && { peer: c.peer }) }));
    const seeds = this.#seeds.map((s) => ({
      address: s.address, ...(s.node !== undefined && { node: s.node }),
      state: s.self ? 'self' as const : s.linked ? 'linked' as const : s.conn !== undefined ? 'dialing' as const : 'waiting' as const,
    }));
    return { node: this.nodeId, cluster: this.clusterId, listening: this.#bound, tls: this.#tls !== undefined, links, handshakes, seeds };
  }

  /** Closes every link (peers are told: "shutdown") and the listener. Reports linkDown for each. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const wasStarted = this.#state === 'started';
    this.#state = 'closed';
    clearInterval(this.#ticker);
    for (const seed of this.#seeds) clearTimeout(seed.timer);
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

  authenticated(conn: LinkConnection): void {
    const peer = conn.peer!;
    const seed = this.#seedOf.get(conn);
    if (seed !== undefined) {
      seed.node = peer;
      seed.linked = true;
      seed.failures = 0;
      this.#addresses.set(peer, { host: seed.host, port: seed.port });
    }
    if (conn.expected !== undefined && conn.expected !== peer) {
      // A seed address answered with another node (the seed restarted with a new id).
      const old = conn.expected;
      this.#log.info({ address: conn.address, was: old, now: peer }, 'mesh seed address now belongs to another node');
      if (this.#dials.get(old) === conn) this.#dials.delete(old);
      const addr = this.#addresses.get(old);
      if (addr !== undefined && formatAddress(addr.host, addr.port) === conn.address) this.#addresses.delete(old);
      this.#emit(() => this.#mesh?.dialFailed(old));
      conn.expected = undefined;
    }
    if (this.nodeId < peer) this.#decide(conn);
    // Otherwise the peer decides, and says "use" (-> used) or closes this one as a duplicate.
  }

  used(conn: LinkConnection): void {
    const peer = conn.peer!;
    const existing = this.#active.get(peer);
    if (existing !== undefined && existing !== conn) this.#replace(existing, conn);
    else this.#activate(conn);
  }

  meshFrames(conn: LinkConnection, frames: readonly unknown[]): void {
    const peer = conn.peer!;
    for (const value of frames) {
      this.#emit(() => {
        if (conn.state !== 'up') return; // an earlier frame closed the link
        let reason: string | undefined;
        try {
          reason = this.#mesh?.receive(peer, value);
        } catch (error) {
          this.#log.error({ peer, err: (error as Error).message }, 'mesh failed to handle a frame');
          reason = `frame handling failed: ${(error as Error).message}`;
        }
        if (reason !== undefined) conn.close('invalid-frame', `invalid frame: ${reason}`);
      });
    }
  }

  closed(conn: LinkConnection, code: CloseCode | string, reason: string, byPeer: boolean): void {
    this.#conns.delete(conn);
    const peer = conn.peer;
    const wasActive = peer !== undefined && this.#active.get(peer) === conn;
    const fields = { peer, address: conn.address, direction: conn.direction, code, reason };
    if (code === 'integrity') {
      this.integrityFailures++;
      if (wasActive) this.#active.delete(peer);
      this.#logIntegrity(conn, wasActive ? { ...fields, uptimeMs: Math.round(performance.now() - conn.upAt) } : fields, byPeer);
      if (wasActive) this.#emit(() => this.#mesh?.linkDown(peer));
    } else if (wasActive) {
      this.#active.delete(peer);
      const level = code === 'shutdown' || code === 'disconnect' ? 'info' : 'warn';
      this.#log[level]({ ...fields, uptimeMs: Math.round(performance.now() - conn.upAt) }, 'mesh link down');
      this.#emit(() => this.#mesh?.linkDown(peer));
    } else if (code !== 'replaced') {
      this.#logHandshakeEnd(conn, code, fields, byPeer);
    }
    const expected = conn.expected;
    if (expected !== undefined && this.#dials.get(expected) === conn) {
      this.#dials.delete(expected);
      // A duplicate dial "succeeded": the link it asked for exists.
      if (!wasActive) this.#emit(() => (this.#active.has(expected) ? this.#mesh?.linkUp(expected) : this.#mesh?.dialFailed(expected)));
    }
    const seed = this.#seedOf.get(conn);
    if (seed !== undefined) {
      this.#seedOf.delete(conn);
      if (seed.conn === conn) seed.conn = undefined;
      if (code === 'self') {
        seed.self = true;
        this.#log.info({ address: seed.address }, 'mesh seed is this node itself; not dialed again');
      } else if (!seed.linked) this.#retrySeed(seed);
    }
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
    const conn = new LinkConnection(this, socket, { direction: 'in', address: remoteAddress(socket), handshakeTimeoutMs: this.handshakeTimeoutMs, verifyPeer: this.#tls?.ca !== undefined });
    this.#conns.add(conn);
  }

  #dial(host: string, port: number, expected: NodeId | undefined, anyNode: boolean): LinkConnection {
    const t = this.#tls;
    const socket = t === undefined
      ? net.connect({ host, port, noDelay: true })
      : tls.connect({
        host, port, cert: t.cert, key: t.key, ca: t.ca, minVersion: 'TLSv1.2',
        // Nodes are dialed by address and certificates seldom name it: with a CA the chain is
        // verified (in LinkConnection, to log why), and the cluster secret (bound to this TLS
        // session) proves membership.
        rejectUnauthorized: false, checkServerIdentity: () => undefined,
      });
    const conn = new LinkConnection(this, socket, {
      direction: 'out', address: formatAddress(host, port), anyNode, handshakeTimeoutMs: this.handshakeTimeoutMs,
      readyEvent: t === undefined ? 'connect' : 'secureConnect', verifyPeer: t?.ca !== undefined, ...(expected !== undefined && { expected }),
    });
    this.#conns.add(conn);
    return conn;
  }

  #dialSeed(seed: Seed): void {
    if (this.#state !== 'started' || seed.self || seed.linked || seed.conn !== undefined) return;
    seed.timer = undefined;
    const conn = this.#dial(seed.host, seed.port, undefined, true);
    seed.conn = conn;
    this.#seedOf.set(conn, seed);
  }

  #retrySeed(seed: Seed): void {
    if (this.#state !== 'started' || seed.timer !== undefined) return;
    const delay = Math.min(this.#seedRetryMaxMs, this.#seedRetryMs * 2 ** seed.failures) * (0.8 + 0.4 * Math.random());
    seed.failures = Math.min(seed.failures + 1, 10);
    seed.timer = setTimeout(() => this.#dialSeed(seed), delay);
    seed.timer.unref();
  }

  /** Run on the node with the lower id: is this connection the link? */
  #decide(conn: LinkConnection): void {
    const peer = conn.peer!;
    const existing = this.#active.get(peer);
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
    this.#active.set(peer, conn);
    conn.markUp();
    if (this.#dials.get(peer) === conn) this.#dials.delete(peer);
    this.#log.info({ peer, address: conn.address, direction: conn.direction, tls: conn.tls }, 'mesh link up');
    this.#emit(() => this.#mesh?.linkUp(peer));
  }

  /** A newer connection takes over: the old one's process is gone (or its peer says so). */
  #replace(old: LinkConnection, conn: LinkConnection): void {
    const peer = conn.peer!;
    this.#active.set(peer, conn);
    old.close('replaced', 'superseded by a newer connection', { destroy: true });
    conn.markUp();
    if (this.#dials.get(peer) === conn) this.#dials.delete(peer);
    this.#log.info({ peer, address: conn.address, direction: conn.direction, old: old.address }, 'mesh link replaced by a new connection (peer restarted?)');
    if (performance.now() - old.lastReceived < 2 * this.heartbeatIntervalMs) {
      // The old process was alive a moment ago: two running nodes may share one id.
      this.#log.warn({ peer }, 'mesh link replaced while the old connection was still live: do two nodes use the same node id?');
    }
    // Calls in flight through the old connection went to a process that is gone: fail them.
    this.#emit(() => this.#mesh?.linkDown(peer));
    this.#emit(() => this.#mesh?.linkUp(peer));
  }

  /**
   * Oversize frames, logged at most once per oversizeLogIntervalMs per (peer, frame type), with
   * the number left unlogged since: a stream of large events must not flood the journal. A
   * call's frames are answered (the caller gets wamp.error.payload_size_exceeded), so those are
   * a warning; anything else (an event, an advertisement, replication) is lost: an error.
   */
  #logTooLarge(peer: NodeId, t: string, size: number, limit: number): void {
    const suppressed = this.#oversize.admit(`${peer}\u0000${t}`);
    if (suppressed === undefined) return;
    const routed = t === 'call' || t === 'chunk' || t === 'result' || t === 'error' || t === 'cancel';
    const fields = { peer, t, size, limit, ...(suppressed > 0 && { alsoDropped: suppressed }) };
    if (routed) this.#log.warn(fields, 'mesh frame exceeds the peer\'s maximum frame size; not sent, the caller gets wamp.error.payload_size_exceeded');
    else this.#log.error(fields, 'mesh frame exceeds the peer\'s maximum frame size; dropped');
  }

  /**
   * A link closed because frames failed their integrity check, here or (byPeer) at the peer:
   * at most once per integrityLogIntervalMs per peer, with the number left unlogged since.
   */
  #logIntegrity(conn: LinkConnection, fields: object, byPeer: boolean): void {
    const suppressed = this.#integrity.admit(conn.peer ?? conn.address);
    if (suppressed === undefined) return;
    const all = { ...fields, ...(suppressed > 0 && { alsoClosed: suppressed }) };
    if (byPeer) this.#log.warn(all, 'mesh link closed by the peer: frames from this node failed its integrity check (tampered with or corrupted on the way)');
    else this.#log.error(all, 'mesh link closed: a frame failed its integrity check (tampered with or corrupted on the way); it was not acted on');
  }

  #logHandshakeEnd(conn: LinkConnection, code: string, fields: object, byPeer: boolean): void {
    const what = conn.direction === 'out' ? 'mesh dial failed' : 'mesh link refused';
    switch (code) {
      case 'duplicate': case 'shutdown':
        this.#log.debug(fields, `${what}: ${code}`);
        return;
      case 'self': case 'timeout': case 'eof': case 'error':
        this.#log.info(fields, what);
        return;
      case 'cluster':
        this.#log.warn(fields, `${what}: the peer belongs to another cluster`);
        return;
      case 'auth':
        this.#log.warn(fields, `${what}: authentication failed${byPeer ? ' (the peer rejected our proof)' : ''}: is the cluster secret the same on both nodes?`);
        return;
      case 'version':
        this.#log.warn(fields, `${what}: the peer speaks another link protocol version: every node of a cluster must run a release with the same one`);
        return;
      default:
        this.#log.warn(fields, what);
    }
  }

  #tick(): void {
    const now = performance.now();
    // If this process itself stalled (a busy loop, swapping), the peers' frames are sitting
    // unread in the socket buffers: judge nobody until they have been read.
    // Once only: a process that is always late must still notice dead peers.
    const late = now - this.#lastTick - this.#tickMs;
    this.#lastTick = now;
    const stalled = late > Math.max(2 * this.#tickMs, 100) && !this.#skippedLast;
    this.#skippedLast = stalled;
    if (stalled) this.#log.info({ lateMs: Math.round(late) }, 'mesh links: this process was stalled; liveness checks deferred one tick');
    for (const conn of [...this.#active.values()]) {
      const silent = now - conn.lastReceived;
      if (!stalled && silent > this.deadAfterMs) {
        conn.close('dead', `nothing received for ${Math.round(silent)} ms (deadAfterMs ${this.deadAfterMs})`, { destroy: true });
        continue;
      }
      if (now - conn.lastPingSent >= this.heartbeatIntervalMs) conn.ping(now);
    }
  }

  /** Calls into the mesh, in order, never inside one of the mesh's own calls to us. */
  #emit(fn: () => void): void {
    this.#queue.push(fn);
    if (this.#flushing) return;
    if (this.#driverDepth > 0) {
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => { this.#flushScheduled = false; this.#flush(); });
      }
      return;
    }
    this.#flush();
  }

  #flush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      for (let fn = this.#queue.shift(); fn !== undefined; fn = this.#queue.shift()) {
        try {
          fn();
        } catch (error) {
          this.#log.error({ err: (error as Error).message }, 'mesh callback threw');
        }
      }
    } finally {
      this.#flushing = false;
    }
  }
}

function checkOptions(o: MeshLinksOptions): string | undefined {
  if (typeof o.nodeId !== 'string' || o.nodeId.length === 0 || o.nodeId.length > 256) return 'nodeId must be a non-empty string (at most 256 characters)';
  if (typeof o.clusterName !== 'string' || o.clusterName.length === 0) return 'clusterName must be a non-empty string';
  if (typeof o.clusterSecret !== 'string' || o.clusterSecret.length === 0) return 'clusterSecret must be a non-empty string';
  const hb = o.heartbeatIntervalMs ?? meshDefaults.heartbeatIntervalMs;
  const dead = o.deadAfterMs ?? meshDefaults.deadAfterMs;
  if (!Number.isFinite(hb) || hb < 10) return 'heartbeatIntervalMs must be >= 10';
  if (!Number.isFinite(dead) || dead < 2 * hb) return 'deadAfterMs must be at least twice heartbeatIntervalMs';
  const hs = o.handshakeTimeoutMs ?? meshDefaults.handshakeTimeoutMs;
  if (!Number.isFinite(hs) || hs < 100) return 'handshakeTimeoutMs must be >= 100';
  const max = o.maxFrameBytes ?? meshDefaults.maxFrameBytes;
  if (!Number.isInteger(max) || max < FRAME_BYTES_MIN) return `maxFrameBytes must be an integer >= ${FRAME_BYTES_MIN}`;
  if (o.maxQueuedBytes !== undefined && (!Number.isInteger(o.maxQueuedBytes) || o.maxQueuedBytes < Math.min(max, MAX_FRAME))) return 'maxQueuedBytes must be an integer >= maxFrameBytes';
  if (o.maxPendingHandshakes !== undefined && (!Number.isInteger(o.maxPendingHandshakes) || o.maxPendingHandshakes < 1)) return 'maxPendingHandshakes must be an integer >= 1';
  const seedMin = o.seedRetryMs ?? meshDefaults.seedRetryMs;
  if (!Number.isFinite(seedMin) || seedMin < 10) return 'seedRetryMs must be >= 10';
  if (!Number.isFinite(o.seedRetryMaxMs ?? meshDefaults.seedRetryMaxMs) || (o.seedRetryMaxMs ?? meshDefaults.seedRetryMaxMs) < seedMin) return 'seedRetryMaxMs must be at least seedRetryMs';
  if (!Number.isInteger(o.listen.port) || o.listen.port < 0 || o.listen.port > 65_535) return 'listen.port must be 0..65535';
  return undefined;
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function remoteAddress(socket: net.Socket): string {
  return formatAddress(unmapIPv4(socket.remoteAddress ?? 'unknown'), socket.remotePort ?? 0);
}
