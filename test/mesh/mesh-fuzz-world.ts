// The harness of the mesh fuzz: its world. Node A (with a security store that replicates) and
// its honest neighbour B as real Routers and MeshNodes on a simulated clock, the links between
// them and to the fuzzed member router F, and the state every later part reads.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../src/log.ts';
import { encodeEnvelope } from '../../src/mesh/links/envelope.ts';
import {
  PassedFrame,
  validateFrame,
  type MeshFrame,
  type NodeId,
  type OutgoingFrame,
} from '../../src/mesh/routing/frames.ts';
import { MeshNode, type FrameSendResult, type LinkDriver } from '../../src/mesh/routing/node.ts';
import { Replicator, type ReplicaRecord } from '../../src/mesh/replication/replicator.ts';
import { Router } from '../../src/router/router.ts';
import { attachSecurity, createSecurity, type Security } from '../../src/security/index.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { Rng } from '../helpers/fuzz-input.ts';
import { Violation, show } from '../helpers/fuzz-checks.ts';
import { SimClock } from './sim.ts';
import type { LocalClient } from './mesh-fuzz-client.ts';
import { meshFrames } from '../helpers/mesh-frames.ts';

export const A: NodeId = 'A';
export const B: NodeId = 'B';
export const F: NodeId = 'F';
/** The largest MESH payload F accepts: A's bigger frames to it are 'too-large'. */
const F_MAX_FRAME = 64 * 1024;
export const MESH_CONFIG = { lsaRefreshMs: 5_000, lsaMaxAgeMs: 20_000, dialBackoffMs: 200, dialBackoffMaxMs: 1_000 };
/** Realms whose sessions the fuzz watches: replicated security records are kept away from them (an admin may reconfigure a realm, which is not an attack). */
export const LOCAL_REALMS = new Set(['realm1', 'realm2']);
export const HLC = /^\d{15}\.\d{6}$/;

export interface SimNode {
  id: NodeId;
  router: Router;
  mesh: MeshNode;
  security?: Security;
  db?: Db;
  dir?: string;
  replicator?: Replicator;
}

/** A call in flight; `trusted`: its answer can only come from its callee (B's, or a local one). */
export interface Outstanding {
  procedure: string;
  payload: unknown;
  trusted: boolean;
}

/** One run's world: A, its neighbours B and F, their links, and what the fuzz keeps track of. */
export abstract class MeshFuzzWorld {
  readonly seed: number;
  readonly rng: Rng;
  readonly clock = new SimClock();
  readonly a: SimNode;
  readonly b: SimNode;
  /** Problems seen inside a call into a node, reported once the call has returned. */
  readonly notes: string[] = [];
  step = 0;
  stepKind = 'setup';
  lastFrame: unknown;
  readonly stats = {
    frames: 0,
    refused: 0,
    linkDowns: 0,
    bytes: 0,
    undecodable: 0,
    fromA: 0,
    callsToF: 0,
    answersFromF: 0,
    results: 0,
    invocations: 0,
    events: 0,
    pushes: 0,
    recordsRefused: 0,
  };

  // ---- links ----
  protected readonly up = new Set<string>();
  /** Frames between A and B, delivered in order by settle(). */
  protected readonly wire: { to: NodeId; from: NodeId; bytes: Uint8Array }[] = [];
  protected readonly connects: { from: NodeId; to: NodeId }[] = [];
  /** The nodes' end-of-tick work (a tick's publications leaving together), run by settle() as a tick ends. */
  protected readonly soon: (() => void)[] = [];
  /** Whether F answers A's dials (false once the fuzz is over). */
  fReachable = true;
  /** Whether B's callee may hold an invocation to answer later (not once the fuzz is over). */
  bMayHold = true;

  // ---- F's side ----
  readonly fEpoch: number;
  fSeq = 0;
  /** F's link numbers on its event copies to A. */
  fLs = 0;
  fCallIds = 0;
  /** Frames A sent F, not yet looked at by F. */
  fInbox: MeshFrame[] = [];
  /** Calls A sent to F (origin A), awaiting an answer. */
  readonly fOwes = new Map<number, { realm: string; id: number }>();
  /** F's own calls (origin F), for chunks and cancels. */
  readonly fCalls: { id: number; dst: NodeId; realm: string }[] = [];
  /** Frames seen on the links (any direction), as seeds for mutation. */
  readonly pool: MeshFrame[] = [];
  /** Replication records A sent, as seeds for F's pushes. */
  readonly recordPool: ReplicaRecord[] = [];

  // ---- local clients ----
  readonly clients: LocalClient[] = [];
  callee!: LocalClient;
  subscriber!: LocalClient;
  caller!: LocalClient;
  bCallee!: LocalClient;
  bClient!: LocalClient;
  nextRequest = 1;
  readonly outstanding = new Map<number, Outstanding>();
  /** Invocations the local callees hold (progressive, waiting for the last chunk), per client. */
  readonly held = new Map<LocalClient, Map<number, unknown[]>>();
  /** Invocations B's callee holds to answer later. */
  readonly bHeld: unknown[][] = [];
  readonly subscriptions = new Map<LocalClient, number[]>();
  /** Session IDs of A's clients and callees, for mutations that hit live state. */
  readonly liveIds: number[] = [];
  readonly refusedLog: string[] = [];
  /** Frames from F that A took (no reason), by type. */
  readonly accepted = new Map<string, number>();

  constructor(seed: number) {
    this.seed = seed;
    this.rng = new Rng(seed);
    this.a = this.#node(A, true);
    this.b = this.#node(B, false);
    this.fEpoch = this.clock.now - 1_000;
  }

  fail(what: string): never {
    throw new Violation(
      `seed 0x${this.seed.toString(16)} step ${this.step} (${this.stepKind}): ` +
        `${what}${this.lastFrame === undefined ? '' : `\n  last frame from F: ${show(this.lastFrame, 500)}`}`,
    );
  }

  note(what: string): void {
    this.notes.push(what);
  }

  #node(id: NodeId, replicate: boolean): SimNode {
    const nodeRng = this.rng.fork();
    const record = (who: string) => (obj: object, msg?: string) =>
      this.note(`${id}'s ${who} logged an error: ${msg ?? ''} ${show(obj, 500)}`);
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: record('router'),
      child: () => logger,
    };
    const clock = this.clock;
    const router = new Router({
      realms: [
        { uri: 'realm1', anonymous: true },
        { uri: 'realm2', anonymous: true },
      ],
      now: () => clock.now,
      scheduler: clock,
      random: () => nodeRng.next(),
      logger,
    });
    const driver: LinkDriver = {
      connect: (peer) => {
        this.connects.push({ from: id, to: peer });
      },
      disconnect: (peer) => this.#cut(id, peer),
      send: (peer, frame) => this.#send(id, peer, frame),
    };
    let security: Security | undefined;
    let db: Db | undefined;
    let dir: string | undefined;
    let replicator: Replicator | undefined;
    if (replicate) {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `wampmesh-meshfuzz-${id}-`));
      db = openDatabase(dir);
      db.pragma('synchronous = OFF');
      security = createSecurity(db, {
        now: () => clock.now,
        hashing: {
          ticket: { memory: 1024, iterations: 1 },
          wampcra: { iterations: 1000, keylen: 32 },
          scram: { kdf: 'pbkdf2', argon2: { memory: 1024, iterations: 1 }, pbkdf2Iterations: 4096 },
        },
      });
      // Refused records are logged as errors: expected here, and counted.
      const replLogger: Logger = {
        debug: () => undefined,
        info: () => undefined,
        warn: () => undefined,
        child: () => replLogger,
        error: (obj: object, msg?: string) => {
          if (msg === 'replicated security records could not be applied') this.stats.recordsRefused++;
          else this.note(`${id}'s replicator logged an error: ${msg ?? ''} ${show(obj, 500)}`);
        },
      };
      replicator = new Replicator({
        node: id,
        db,
        store: security.store,
        now: () => clock.now,
        antiEntropyMs: 2_000,
        logger: replLogger,
      });
      attachSecurity(router, security);
    }
    const meshLogger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: record('mesh'),
      child: () => meshLogger,
    };
    const mesh = new MeshNode({
      id,
      router,
      driver,
      config: MESH_CONFIG,
      random: () => nodeRng.next(),
      logger: meshLogger,
      soon: (fn) => this.soon.push(fn),
      ...(replicator !== undefined && { replicator }),
    });
    return {
      id,
      router,
      mesh,
      ...(security !== undefined && { security }),
      ...(db !== undefined && { db }),
      ...(dir !== undefined && { dir }),
      ...(replicator !== undefined && { replicator }),
    };
  }

  dispose(): void {
    this.a.db?.close();
    if (this.a.dir !== undefined) fs.rmSync(this.a.dir, { recursive: true, force: true });
  }

  // ---- the links ------------------------------------------------------------------------------

  protected linkKey(x: NodeId, y: NodeId): string {
    return x < y ? `${x}|${y}` : `${y}|${x}`;
  }
  linked(x: NodeId, y: NodeId): boolean {
    return this.up.has(this.linkKey(x, y));
  }
  protected meshOf(id: NodeId): MeshNode | undefined {
    return id === A ? this.a.mesh : id === B ? this.b.mesh : undefined;
  }

  #send(from: NodeId, to: NodeId, frame: OutgoingFrame): FrameSendResult {
    if (!this.linked(from, to)) return 'failed';
    // Encoded as MeshLinks does, which drops a frame it cannot encode ('failed') with an error
    // in the log: a frame A took from F and cannot pass on.
    let bytes: Uint8Array;
    try {
      bytes = encodeEnvelope([frame]);
    } catch (error) {
      this.note(`${from} sent ${to} a frame that cannot be encoded (${String(error)}): ${show(frame, 500)}`);
      return 'failed';
    }
    // What every router sends must pass every router's validation; but a call's frame passed
    // on as it came (PassedFrame) is its origin's, validated by the node it is for.
    let decoded: unknown;
    try {
      decoded = meshFrames(bytes)[0];
    } catch (error) {
      if (!(frame instanceof PassedFrame) || to === F)
        this.note(`${from} sent ${to} an undecodable frame (${String(error)})`);
      else this.wire.push({ from, to, bytes });
      return 'sent';
    }
    const valid = validateFrame(decoded);
    if (typeof valid === 'string' && !(frame instanceof PassedFrame))
      this.note(`${from} sent ${to} a frame that fails validation (${valid}): ${show(decoded, 500)}`);
    if (from === A) this.stats.fromA++;
    if (to === F) {
      if (bytes.length > F_MAX_FRAME) return 'too-large';
      if (process.env.MESH_FUZZ_TRACE) console.log(`${from} -> F ${show(decoded, 400)}`);
      this.fInbox.push(decoded as MeshFrame);
      return 'sent';
    }
    this.wire.push({ from, to, bytes });
    return 'sent';
  }

  #cut(from: NodeId, to: NodeId): void {
    if (!this.up.delete(this.linkKey(from, to))) return;
    if (from === F || to === F) {
      this.fInbox = [];
      this.fOwes.clear();
    }
    // The other end notices later (never inside a driver call).
    this.connects.push({ from: to, to: `-${from}` });
  }
}
