// The harness of the mesh fuzz (fuzz-node.test.ts; the link's bytes are fuzzed in
// fuzz-link.test.ts): node A with its honest neighbour B and the fuzzed member router F, the
// mutations F sends, and the checks run after every step. What it promises and checks is
// described in fuzz-node.test.ts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../src/log.ts';
import { decodeEnvelope, encodeEnvelope } from '../../src/mesh/links/envelope.ts';
import {
  PassedFrame,
  validateFrame,
  type MeshFrame,
  type NodeId,
  type OutgoingFrame,
} from '../../src/mesh/routing/frames.ts';
import { encodeEventContent, type EventContent } from '../../src/mesh/routing/event-content.ts';
import { MeshNode, type FrameSendResult, type LinkDriver } from '../../src/mesh/routing/node.ts';
import { hashValue, toRecords } from '../../src/mesh/replication/records.ts';
import { Replicator, type ReplicaRecord } from '../../src/mesh/replication/replicator.ts';
import type { CloseReason, Peer, PeerHandler } from '../../src/router/peer.ts';
import { Router } from '../../src/router/router.ts';
import { attachSecurity, createSecurity, type Security } from '../../src/security/index.ts';
import { cbor, json, msgpack, type Serializer } from '../../src/serializers/index.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { isDict, parseMessage, ProtocolViolation } from '../../src/wamp/parse.ts';
import {
  DEEP,
  deepBytes,
  exoticBytes,
  mutateBytes,
  randomValue,
  Rng,
  STRINGS,
  withSplicedValue,
} from '../helpers/fuzz-input.ts';
import { ALL_ROLES, EXTRA_SEEDS, ROUTER_TO_CLIENT, Violation, show } from '../helpers/fuzz-checks.ts';
import { SimClock } from './sim.ts';

// =================================================================================================
// Part 1: MeshNode, sans-IO
// =================================================================================================

const MESH_SEEDS = [0x3e5_0001, 0x3e5_0002, 0x3e5_0003, 0x3e5_0004, 0x3e5_0005, 0x3e5_0006];
export const MESH_STEPS = 1_500;
export const A: NodeId = 'A';
export const B: NodeId = 'B';
export const F: NodeId = 'F';
/** The largest MESH payload F accepts: A's bigger frames to it are 'too-large'. */
const F_MAX_FRAME = 64 * 1024;
const CALLEE_FEATURES = [
  'progressive_call_results',
  'progressive_call_invocations',
  'call_canceling',
  'call_timeout',
  'caller_identification',
  'payload_passthru_mode',
];
/** F's callee, as its advertisement names it. */
const F_CALLEE = 4242;
const MESH_CONFIG = { lsaRefreshMs: 5_000, lsaMaxAgeMs: 20_000, dialBackoffMs: 200, dialBackoffMaxMs: 1_000 };
/** Realms whose sessions the fuzz watches: replicated security records are kept away from them (an admin may reconfigure a realm, which is not an attack). */
const LOCAL_REALMS = new Set(['realm1', 'realm2']);
const HLC = /^\d{15}\.\d{6}$/;

/** Fields MeshFuzz.hot() has values for. */
const HOT_FIELDS = new Set([
  'origin',
  'dst',
  'src',
  'node',
  'id',
  'session',
  'publication',
  'excluded',
  'epoch',
  'seq',
  'timestamp',
  'realm',
  'links',
  'dsts',
  'procedure',
  'topic',
  'match',
  'invoke',
  'hlc',
  'key',
  'mode',
  'filter',
  'exclude',
  'eligible',
  'exclude_authid',
  'eligible_authid',
  'exclude_authrole',
  'eligible_authrole',
  'progress',
  'retain',
  'reply',
  'more',
  'deleted',
  't',
  'callees',
  'records',
  'versions',
  'registrations',
  'subscriptions',
  'features',
]);

export const hlcOf = (ms: number, n = 0): string =>
  `${String(Math.max(0, Math.floor(ms)))
    .padStart(15, '0')
    .slice(-15)}.${String(n).padStart(6, '0')}`;

/** A router's client in A's realm1, checking everything the router sends it. */
class LocalClient implements Peer {
  readonly info = { type: 'memory', peer: '127.0.0.1:1', local: true };
  readonly serializer: Serializer;
  readonly name: string;
  handler!: PeerHandler;
  sessionId = 0;
  /** Decoded messages not yet acted on. */
  inbox: unknown[][] = [];
  /** Invocations received and not answered yet. */
  readonly open = new Set<number>();
  readonly #fuzz: MeshFuzz;

  constructor(fuzz: MeshFuzz, serializer: Serializer, name: string) {
    this.#fuzz = fuzz;
    this.serializer = serializer;
    this.name = name;
  }

  send(frame: Uint8Array): void {
    let value: unknown;
    try {
      value = this.serializer.decode(frame);
    } catch (error) {
      return this.#fuzz.note(`${this.name} got a frame it cannot decode (${String(error)})`);
    }
    const problem = checkToClient(value);
    if (problem !== undefined) return this.#fuzz.note(`${this.name} got ${problem}: ${show(value)}`);
    if (process.env.MESH_FUZZ_TRACE) console.log(`${this.name} << ${show(value, 400)}`);
    const m = value as unknown[];
    // An INTERRUPT is for an invocation the callee has and has not answered when it arrives.
    if (m[0] === 68) this.open.add(m[1] as number);
    // (After one in mode 'kill' the invocation is still the callee's to answer, and may be interrupted again.)
    if (m[0] === 69 && !this.open.has(m[1] as number))
      this.#fuzz.note(`${this.name} got INTERRUPT for request ${String(m[1])}, which it is not serving`);
    this.inbox.push(m);
  }

  bufferedAmount(): number {
    return 0;
  }

  close(reason?: CloseReason): void {
    this.#fuzz.note(
      `${this.name} was closed by the router (${reason ?? 'normal'}); last got ${show(this.inbox.slice(-3))}`,
    );
  }

  /**
   * A frame as it is: values our encoders never write, as a CBOR client can send them. Not one
   * the core refuses (this client is well-behaved): false then, and nothing was sent.
   */
  outRaw(frame: Uint8Array): boolean {
    try {
      if (parseMessage(this.serializer.decode(frame)) instanceof ProtocolViolation) return false;
    } catch {
      return false;
    }
    if (process.env.MESH_FUZZ_TRACE)
      console.log(`${this.name} >> (raw) ${Buffer.from(frame).toString('hex').slice(0, 200)}`);
    try {
      this.handler.receive(frame);
    } catch (error) {
      this.#fuzz.note(`${this.name}: receive() threw: ${(error as Error).stack ?? String(error)}`);
    }
    return true;
  }

  out(message: unknown[]): void {
    if (process.env.MESH_FUZZ_TRACE) console.log(`${this.name} >> ${show(message, 400)}`);
    if ((message[0] === 70 && (message[2] as Record<string, unknown>).progress !== true) || message[0] === 8)
      this.open.delete(message[message[0] === 8 ? 2 : 1] as number);
    try {
      this.handler.receive(this.serializer.encode(message));
    } catch (error) {
      this.#fuzz.note(`${this.name}: receive() threw: ${(error as Error).stack ?? String(error)}`);
    }
  }
}

const optType = (d: Record<string, unknown>, key: string, ok: (v: unknown) => boolean): string | undefined =>
  d[key] === undefined || ok(d[key]) ? undefined : `details.${key} = ${show(d[key], 60)}`;

/** A message a router may send a client, with well-known details of the right types. */
function checkToClient(value: unknown): string | undefined {
  const parsed = parseMessage(value);
  if (parsed instanceof ProtocolViolation) return `a malformed message (${parsed.message})`;
  const m = value as unknown[];
  const code = m[0] as number;
  if (!ROUTER_TO_CLIENT.has(code)) return `message type ${code}, which a router does not send`;
  if (code === 3 || code === 6) return 'ABORT or GOODBYE (a well-behaved client)';
  const bool = (v: unknown) => typeof v === 'boolean';
  const str = (v: unknown) => typeof v === 'string';
  if (code === 68) {
    // INVOCATION
    const d = m[3] as Record<string, unknown>;
    return (
      optType(d, 'receive_progress', bool) ??
      optType(d, 'progress', bool) ??
      optType(d, 'procedure', str) ??
      optType(d, 'timeout', (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)
    );
  }
  if (code === 50) return optType(m[2] as Record<string, unknown>, 'progress', bool); // RESULT
  if (code === 36) {
    // EVENT
    const d = m[3] as Record<string, unknown>;
    return optType(d, 'topic', str) ?? optType(d, 'retained', bool);
  }
  return undefined;
}

interface SimNode {
  id: NodeId;
  router: Router;
  mesh: MeshNode;
  security?: Security;
  db?: Db;
  dir?: string;
  replicator?: Replicator;
}

/** A call in flight; `trusted`: its answer can only come from its callee (B's, or a local one). */
interface Outstanding {
  procedure: string;
  payload: unknown;
  trusted: boolean;
}

/** One run: A, its neighbours B and F, and the checks. */
export class MeshFuzz {
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
  readonly #up = new Set<string>();
  /** Frames between A and B, delivered in order by settle(). */
  readonly #wire: { to: NodeId; from: NodeId; bytes: Uint8Array }[] = [];
  readonly #connects: { from: NodeId; to: NodeId }[] = [];
  /** The nodes' end-of-tick work (a tick's publications leaving together), run by settle() as a tick ends. */
  readonly #soon: (() => void)[] = [];
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
        this.#connects.push({ from: id, to: peer });
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
      soon: (fn) => this.#soon.push(fn),
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

  #linkKey(x: NodeId, y: NodeId): string {
    return x < y ? `${x}|${y}` : `${y}|${x}`;
  }
  linked(x: NodeId, y: NodeId): boolean {
    return this.#up.has(this.#linkKey(x, y));
  }
  #mesh(id: NodeId): MeshNode | undefined {
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
      decoded = (cbor.decode(bytes) as unknown[])[0];
    } catch (error) {
      if (!(frame instanceof PassedFrame) || to === F)
        this.note(`${from} sent ${to} an undecodable frame (${String(error)})`);
      else this.#wire.push({ from, to, bytes });
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
    this.#wire.push({ from, to, bytes });
    return 'sent';
  }

  #cut(from: NodeId, to: NodeId): void {
    if (!this.#up.delete(this.#linkKey(from, to))) return;
    if (from === F || to === F) {
      this.fInbox = [];
      this.fOwes.clear();
    }
    // The other end notices later (never inside a driver call).
    this.#connects.push({ from: to, to: `-${from}` });
  }

  /** A and F link up; F then does what a node does on a new link: sends its database. */
  #fLinkUp(): void {
    this.#up.add(this.#linkKey(A, F));
    this.a.mesh.linkUp(F);
    this.deliverFromF(this.#overWire([this.fLsa()]));
  }

  /** The link to F ends (a reason from A, or F hung up): F forgets the link's state, as a node would. */
  fLinkDown(): void {
    if (!this.#up.delete(this.#linkKey(A, F))) return;
    this.stats.linkDowns++;
    this.fInbox = [];
    this.fOwes.clear();
    this.a.mesh.linkDown(F);
  }

  // ---- F ----------------------------------------------------------------------------------------

  fLsa(): MeshFrame {
    return {
      t: 'lsa',
      origin: F,
      epoch: this.fEpoch,
      seq: ++this.fSeq,
      links: this.linked(A, F) ? [A] : [],
      realms: {
        realm1: {
          registrations: [
            {
              procedure: 'com.f.echo',
              match: 'exact',
              invoke: 'single',
              callees: [{ session: F_CALLEE, features: [...CALLEE_FEATURES] }],
            },
          ],
          subscriptions: [
            { topic: 'com.a.topic', match: 'exact' },
            { topic: 'com.f', match: 'prefix' },
          ],
        },
      },
    };
  }

  /** A valid frame for F to send now: what a member router would. */
  template(): MeshFrame {
    const rng = this.rng;
    const payload = (): { args?: unknown[]; kwargs?: Record<string, unknown> } => {
      const r = rng.int(4);
      if (r === 0) return {};
      const args = Array.from({ length: rng.int(3) }, () => randomValue(rng, 2));
      return r === 1 ? { args } : { args, kwargs: { k: randomValue(rng, 2) } };
    };
    const realm = rng.chance(0.9) ? 'realm1' : rng.pick(['realm2', 'nope']);
    for (;;) {
      switch (rng.int(14)) {
        case 0: {
          // Now and then F's callee under the session ID of a session on A or B.
          const lsa = this.fLsa();
          if (rng.chance(0.2))
            (lsa as unknown as { realms: { realm1: { registrations: { callees: { session: number }[] }[] } } }).realms
              .realm1.registrations[0]!.callees[0]!.session = rng.pick(this.liveIds);
          return lsa;
        }
        case 12:
        case 13: {
          // Frames of other nodes' traffic, as a member can forge them: another node's (or A's
          // own) advertisement, answers and chunks of calls between A and B (their IDs are
          // sequential: easy to guess), events of another source.
          const seen = this.pool.filter((f) => f.t !== 'repl-push' && f.t !== 'repl-versions' && f.t !== 'repl-digest');
          if (seen.length === 0) continue;
          // Mostly the latest calls between A and B: those may still be in flight.
          const recent = seen.filter((f) => f.t === 'call' && f.origin !== F && f.dst !== F).slice(-5);
          const f = structuredClone(
            recent.length > 0 && rng.chance(0.5) ? rng.pick(recent) : rng.pick(seen),
          ) as unknown as Record<string, unknown>;
          if (f.t === 'lsa') {
            f.seq = rng.pick([
              (f.seq as number) + 1,
              (f.seq as number) + 1_000,
              Number.MAX_SAFE_INTEGER - 1,
              Number.MAX_SAFE_INTEGER,
            ]);
            if (rng.chance(0.3))
              f.epoch = (f.epoch as number) + rng.pick([1, 1e9, Number.MAX_SAFE_INTEGER - (f.epoch as number)]);
            if (rng.chance(0.5)) f.links = rng.pick([[], [F], [A, B, F], ['Z']]);
          } else if (f.t === 'call' && f.origin !== F && rng.chance(0.5)) {
            // A call under A's or B's next IDs (sequential), before they make it, and one that lasts.
            f.id = (f.id as number) + 1 + rng.int(3);
            if (rng.chance(0.5)) f.details = { progress: true };
          } else if (f.t === 'call') {
            f.t = rng.pick(['result', 'error', 'chunk', 'cancel']);
            Object.assign(f, {
              progress: rng.chance(0.3),
              error: 'com.forged',
              mode: 'killnowait',
              details: {},
              args: ['forged'],
            });
            if (f.t === 'result' || f.t === 'error') f.dst = f.origin;
          } else if (f.t === 'event' && f.b instanceof Uint8Array && f.b.length > 0) {
            // Another event under the same numbers: one octet of its content changed.
            const b = Uint8Array.from(f.b);
            b[b.length - 1]! ^= 1;
            f.b = b;
          }
          return f as unknown as MeshFrame;
        }
        case 1:
        case 2: {
          // An answer to one of A's calls to F's callee.
          const owed = [...this.fOwes.values()];
          if (owed.length === 0) continue;
          const call = rng.pick(owed);
          const progress = rng.chance(0.2);
          if (!progress) this.fOwes.delete(call.id);
          this.stats.answersFromF++;
          if (rng.chance(0.2))
            return {
              t: 'error',
              origin: A,
              dst: A,
              id: call.id,
              realm: call.realm,
              error: rng.pick(['com.f.error', 'wamp.error.canceled', 'wamp.error.runtime_error']),
              details: {},
              ...payload(),
            };
          return {
            t: 'result',
            origin: A,
            dst: A,
            id: call.id,
            realm: call.realm,
            progress,
            details: rng.chance(0.1) ? { ppt_scheme: 'x_fuzz' } : {},
            ...payload(),
          };
        }
        case 3:
        case 4: {
          // A call to A's callee, or through A to B's.
          const toB = rng.chance(0.3);
          const id = ++this.fCallIds;
          const dst = toB ? B : A;
          this.fCalls.push({ id, dst, realm });
          if (this.fCalls.length > 40) this.fCalls.shift();
          const details: Record<string, unknown> = {};
          if (rng.chance(0.3)) details.receive_progress = true;
          if (rng.chance(0.15)) details.progress = true;
          if (rng.chance(0.1)) details.timeout = rng.pick([10, 1_000]);
          if (rng.chance(0.2)) Object.assign(details, { caller: 77, caller_authid: 'remote', caller_authrole: 'user' });
          return {
            t: 'call',
            origin: F,
            dst,
            id,
            realm,
            procedure: toB ? 'com.b.echo' : rng.pick(['com.local.echo', 'com.local.echo', 'com.local.nope']),
            match: 'exact',
            session: toB ? this.bCallee.sessionId : rng.chance(0.9) ? this.callee.sessionId : rng.pick(this.liveIds),
            details,
            ...payload(),
          };
        }
        case 5: {
          if (this.fCalls.length === 0) continue;
          const call = rng.pick(this.fCalls);
          if (rng.chance(0.5))
            return {
              t: 'chunk',
              origin: F,
              dst: call.dst,
              id: call.id,
              realm: call.realm,
              progress: rng.chance(0.5),
              ...payload(),
            };
          return {
            t: 'cancel',
            origin: F,
            dst: call.dst,
            id: call.id,
            realm: call.realm,
            mode: rng.pick(['skip', 'kill', 'killnowait']),
          };
        }
        case 6:
        case 7: {
          const dsts = rng.pick([[A], [A], [A, B], [B], [A, F]]);
          return {
            t: 'event',
            src: F,
            ep: this.fEpoch,
            dsts,
            // Numbers that repeat and jump: duplicates, gaps held back, given up.
            seqs: dsts.map(() => 1 + rng.int(40)),
            // Mostly the destination's life; sometimes another (numbered before a restart).
            lives: dsts.map((d) => (rng.chance(0.9) && d === A ? this.a.mesh.status().epoch : rng.int(3))) as number[],
            ttl: rng.pick([0, 1, 32]),
            ls: ++this.fLs,
            // The event's content travels encoded, as its origin sealed it.
            b: encodeEventContent({
              realm,
              topic: rng.pick(['com.a.topic', 'com.a.topic', 'com.a.other', 'com.f.x']),
              publication: 1 + rng.int(2 ** 50),
              timestamp: this.clock.now,
              details: rng.chance(0.2) ? { publisher: 5, topic: 'com.a.topic' } : {},
              retain: rng.chance(0.1),
              ...(rng.chance(0.1) && { excluded: rng.pick(this.liveIds) }),
              ...(rng.chance(0.3) && {
                filter: rng.pick([
                  { eligible: [this.subscriber.sessionId] },
                  { exclude: this.liveIds.slice(0, 2) },
                  { eligible_authrole: ['anonymous'] },
                  { exclude_authid: ['x'] },
                ]),
              }),
              ...payload(),
            } as EventContent),
          } as MeshFrame;
        }
        case 8:
          return {
            t: 'repl-digest',
            digest: rng.chance(0.5) ? this.a.replicator!.digest() : rng.pick(['', 'x', 'AAAA']),
          };
        case 9: {
          const versions = this.recordPool
            .slice(-20)
            .map((r): [string, string, NodeId, boolean] => [
              r.key,
              rng.chance(0.5) ? r.hlc : hlcOf(this.clock.now + rng.int(10_000)),
              rng.pick([r.node, F, B]),
              rng.chance(0.2),
            ]);
          return { t: 'repl-versions', versions, reply: rng.chance(0.5), ...(rng.chance(0.2) && { more: true }) };
        }
        case 10:
        case 11: {
          if (this.recordPool.length === 0) continue;
          // A's own records, newer and changed: what another node's edit looks like.
          const records = Array.from({ length: 1 + rng.int(3) }, () => {
            const r = structuredClone(rng.pick(this.recordPool));
            const edited: ReplicaRecord = { ...r, hlc: hlcOf(this.clock.now + rng.int(100_000), rng.int(5)), node: F };
            if (rng.chance(0.15)) return { key: r.key, hlc: edited.hlc, node: F, deleted: true };
            if (edited.value !== undefined && rng.chance(0.5))
              edited.value = { ...edited.value, description: `edited by F ${rng.int(100)}` };
            return edited;
          });
          this.stats.pushes++;
          return { t: 'repl-push', records };
        }
        default:
          continue;
      }
    }
  }

  /** Values where they hurt most, by field name (one of HOT_FIELDS). */
  hot(key: string): unknown {
    const rng = this.rng;
    const ids = (): unknown =>
      rng.pick([
        ...this.liveIds,
        ...[...this.fOwes.keys()],
        ...this.fCalls.map((c) => c.id),
        0,
        -1,
        1,
        2 ** 53,
        2 ** 53 - 1,
        2 ** 53 + 2,
        1.5,
        NaN,
        -(2 ** 53),
      ]);
    switch (key) {
      case 'origin':
      case 'dst':
      case 'src':
      case 'node':
        return rng.pick([A, A, B, F, 'Z', '', 'a'.repeat(300), '__proto__', 'A\u0000', 'F\u00001']);
      case 'id':
      case 'session':
      case 'publication':
      case 'excluded':
        return ids();
      case 'epoch':
      case 'seq':
      case 'timestamp':
        return rng.pick([
          0,
          -1,
          1,
          Number.MAX_SAFE_INTEGER,
          Number.MAX_SAFE_INTEGER - 1,
          2 ** 53,
          2 ** 52,
          this.fEpoch,
          this.fEpoch + 1,
          this.a.mesh.status().epoch,
          this.fSeq + 1,
          1.5,
          NaN,
          1e300,
        ]);
      case 'realm':
        return rng.pick(['realm1', 'realm2', 'nope', '', '__proto__', 'wampmesh.admin', 'com.fuzz.r0']);
      case 'links':
      case 'dsts':
        return rng.pick([
          [],
          [A],
          [A, A],
          [B],
          [A, B, F],
          ['Z'],
          [F],
          Array.from({ length: 2_000 }, () => A),
          Array.from({ length: 500 }, (_, i) => `n${i}`),
        ]);
      case 'procedure':
      case 'topic':
        return rng.pick([
          'com.local.echo',
          'com.b.echo',
          'com.f.echo',
          'com.a.topic',
          '',
          'com',
          'wamp.session.count',
          'a..b',
          '#',
          'x'.repeat(5_000),
        ]);
      case 'match':
        return rng.pick(['exact', 'prefix', 'wildcard', 'x', '']);
      case 'invoke':
        return rng.pick(['single', 'roundrobin', 'random', 'first', 'last', 'x', '__proto__']);
      case 'hlc':
        return rng.pick([
          '999999999999999.999999',
          '999999999999999.000000',
          '000000000000000.000000',
          hlcOf(this.clock.now, 999_999),
          hlcOf(this.clock.now + 1e12),
          '1.1',
          '',
        ]);
      case 'key':
        return rng.pick([
          'realm|com.fuzz.r0',
          'user|com.fuzz.r0|alice',
          'group|com.fuzz.r0|ops',
          'grant|com.fuzz.r0|x',
          'source|com.fuzz.r0|y',
          'realm|',
          '|||',
          'x',
          '__proto__',
          'realm|wampmesh.admin',
          'user|wampmesh.admin|admin',
        ]);
      case 'mode':
        return rng.pick(['kill', 'killnowait', 'skip', 'x', '']);
      case 'filter':
        return rng.pick([
          { exclude: 5 },
          { eligible: 'x' },
          { eligible: [rng.pick(this.liveIds)] },
          { exclude_authid: 'a' },
          { eligible_authrole: [5] },
          { other: 1 },
          [],
        ]);
      case 'exclude':
      case 'eligible':
      case 'exclude_authid':
      case 'eligible_authid':
      case 'exclude_authrole':
      case 'eligible_authrole':
        return rng.pick([5, 'x', null, {}, [rng.pick(this.liveIds)], ['anonymous'], [{}]]);
      case 'progress':
      case 'retain':
      case 'reply':
      case 'more':
      case 'deleted':
        return rng.pick([true, false, 'true', 1, null]);
      case 't':
        return rng.pick([
          'lsa',
          'call',
          'chunk',
          'cancel',
          'result',
          'error',
          'event',
          'repl-push',
          'repl-digest',
          'repl-versions',
          'repl-x',
          '',
          'LSA',
        ]);
      case 'callees':
        return [{ session: ids(), features: rng.pick([[], [...CALLEE_FEATURES], ['x']]) }];
      case 'records':
      case 'versions':
      case 'registrations':
      case 'subscriptions':
      case 'features':
        return rng.pick([[], [{}], [[]], [null], Array.from({ length: 300 }, () => ({}))]);
      default:
        return undefined;
    }
  }

  /** One to three value-level mutations of a frame (never of `frame` itself). */
  mutate(frame: unknown): unknown {
    const rng = this.rng;
    let v: unknown;
    try {
      v = structuredClone(frame);
    } catch {
      return frame;
    }
    for (let n = 1 + rng.int(3); n > 0; n--) {
      // Every place a value can go, down to depth 5, with its field name.
      const slots: { parent: Record<string | number, unknown>; key: string | number; name: string }[] = [];
      const walk = (x: unknown, depth: number, name: string): void => {
        if (depth > 5 || typeof x !== 'object' || x === null || ArrayBuffer.isView(x)) return;
        if (Array.isArray(x))
          x.forEach((item, i) => {
            slots.push({ parent: x as unknown as Record<number, unknown>, key: i, name });
            walk(item, depth + 1, name);
          });
        else
          for (const [k, item] of Object.entries(x)) {
            slots.push({ parent: x as Record<string, unknown>, key: k, name: k });
            walk(item, depth + 1, k);
          }
      };
      walk(v, 0, '');
      if (slots.length === 0 || rng.chance(0.03)) return rng.chance(0.5) ? randomValue(rng) : [v];
      // Half the time a field that means something (an ID, a node, a seq, a key, ...).
      const meaningful = slots.filter((x) => typeof x.key === 'string' && HOT_FIELDS.has(x.name));
      const slot = meaningful.length > 0 && rng.chance(0.5) ? rng.pick(meaningful) : rng.pick(slots);
      switch (rng.int(8)) {
        case 0:
        case 1:
        case 2:
          slot.parent[slot.key] = HOT_FIELDS.has(slot.name) && rng.chance(0.7) ? this.hot(slot.name) : randomValue(rng);
          break;
        case 3:
          if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
          else delete slot.parent[slot.key];
          break;
        case 4: {
          const parent = rng.pick(slots).parent;
          if (Array.isArray(parent)) parent.push(randomValue(rng));
          else {
            const key = rng.pick([
              'x',
              '__proto__',
              'constructor',
              'args',
              'kwargs',
              'details',
              'filter',
              'excluded',
              'more',
              'password',
              'value',
              'procedure',
              'progress',
            ]);
            parent[key] = HOT_FIELDS.has(key) && rng.chance(0.5) ? this.hot(key) : randomValue(rng);
          }
          break;
        }
        case 5:
          slot.parent[slot.key] = this.hot(
            rng.pick(['origin', 'id', 'seq', 'realm', 'links', 'hlc', 'key', 't', 'callees']),
          );
          break;
        case 6: {
          const other = rng.pick(slots);
          [slot.parent[slot.key], other.parent[other.key]] = [other.parent[other.key], slot.parent[slot.key]];
          break;
        }
        default:
          slot.parent[slot.key] = rng.pick(STRINGS);
      }
    }
    return v;
  }

  /** Keeps replicated records away from the realms the fuzz watches (see LOCAL_REALMS). */
  #shield(v: unknown, depth = 0): unknown {
    if (typeof v === 'string') {
      if (LOCAL_REALMS.has(v)) return 'com.fuzz.r0';
      const parts = v.split('|');
      if (parts.length > 1 && LOCAL_REALMS.has(parts[1]!)) {
        parts[1] = 'com.fuzz.r0';
        return parts.join('|');
      }
      return v;
    }
    if (depth > 8 || typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v;
    if (Array.isArray(v)) return v.map((x) => this.#shield(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      Object.defineProperty(out, k, {
        value: this.#shield(x, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }

  /** Hands F's frames to A as one MESH payload would: in order, and the first reason ends the link. */
  deliverFromF(values: readonly unknown[]): void {
    for (const value of values) {
      if (!this.linked(A, F)) return;
      this.lastFrame = value;
      if (process.env.MESH_FUZZ_TRACE) console.log(`F -> A ${show(value, 400)}`);
      this.stats.frames++;
      let reason: string | undefined;
      try {
        reason = this.a.mesh.receive(F, value);
      } catch (error) {
        this.fail(`A.receive() threw: ${(error as Error).stack ?? String(error)}`);
      }
      const t = isDict(value) && typeof value.t === 'string' ? value.t : '?';
      if (reason === undefined) this.accepted.set(t, (this.accepted.get(t) ?? 0) + 1);
      if (reason !== undefined) {
        if (typeof reason !== 'string' || reason.length === 0)
          this.fail(`A.receive() returned a reason that is not a sentence: ${show(reason)}`);
        this.stats.refused++;
        this.refusedLog.push(reason);
        this.fLinkDown();
      }
    }
  }

  /** F's next send: valid, mutated values, or a mutated MESH payload. */
  fSend(): void {
    const rng = this.rng;
    // F dials again at once after a refusal (A's own redial would wait for its backoff).
    if (!this.linked(A, F)) this.#fLinkUp();
    const r = rng.int(100);
    const base = (): unknown => (this.pool.length > 0 && rng.chance(0.3) ? rng.pick(this.pool) : this.template());
    if (r < 35) {
      this.stepKind = 'valid';
      return this.deliverFromF(this.#overWire([this.template()]));
    }
    let frames: unknown[];
    if (r < 80) {
      this.stepKind = 'value';
      frames = Array.from({ length: rng.chance(0.8) ? 1 : 2 + rng.int(3) }, () =>
        rng.chance(0.75) ? this.mutate(base()) : base(),
      );
    } else {
      // Bytes: a MESH payload as the link would decode it, mutated, spliced with a deep or
      // exotic value, or a value our encoder never writes.
      this.stepKind = 'bytes';
      let bytes: Uint8Array | undefined;
      try {
        const message = [base()];
        const k = rng.int(10);
        if (k < 2)
          bytes = withSplicedValue(
            rng,
            cbor,
            message,
            deepBytes('cbor', rng.pick([200, 1_000, 100_000]), rng.chance(0.5)),
          );
        else if (k < 5) bytes = withSplicedValue(rng, cbor, message, exoticBytes(rng, 'cbor'));
        bytes ??= mutateBytes(rng, 'cbor', cbor.encode(message), cbor.encode([base()]));
      } catch {
        return;
      }
      this.stats.bytes++;
      // As LinkConnection reads a MESH payload (a call's frames only as far as their header);
      // an undecodable one closes the link ('invalid-frame') before the mesh sees anything.
      const decoded = decodeEnvelope(bytes);
      if (typeof decoded === 'string') {
        this.stats.undecodable++;
        return;
      }
      frames = decoded;
    }
    frames = frames.map((f) => (isDict(f) && typeof f.t === 'string' && f.t.startsWith('repl') ? this.#shield(f) : f));
    this.deliverFromF(this.#overWire(frames));
  }

  /** Frames as the CBOR decoder makes them from the wire (a frame the encoder cannot write never arrives). */
  #overWire(frames: unknown[]): unknown[] {
    return frames.flatMap((f) => {
      try {
        const decoded = decodeEnvelope(encodeEnvelope([f as MeshFrame]));
        return typeof decoded === 'string' ? [] : decoded;
      } catch {
        return [];
      }
    });
  }

  /** F reads what A sent it: calls it owes an answer, records for its pool. */
  #fRead(): void {
    for (const frame of this.fInbox.splice(0)) {
      this.pool.push(frame);
      if (this.pool.length > 300) this.pool.splice(0, 100);
      if (frame.t === 'call' && frame.origin === A) {
        this.fOwes.set(frame.id, { realm: frame.realm, id: frame.id });
        this.stats.callsToF++;
      }
      if (frame.t === 'cancel' && frame.origin === A && frame.mode !== 'kill') this.fOwes.delete(frame.id);
      if (frame.t === 'repl-push')
        for (const r of frame.records) {
          this.recordPool.push(r);
          if (this.recordPool.length > 100) this.recordPool.shift();
        }
    }
  }

  // ---- local clients --------------------------------------------------------------------------

  #client(node: SimNode, serializer: Serializer, name: string): LocalClient {
    const c = new LocalClient(this, serializer, name);
    c.handler = node.router.attach(c);
    this.clients.push(c);
    this.held.set(c, new Map());
    c.out([1, 'realm1', { roles: ALL_ROLES }]);
    const welcome = c.inbox.shift();
    if (welcome?.[0] !== 2) this.fail(`${name} not welcomed: ${show(welcome)}`);
    c.sessionId = welcome[1] as number;
    return c;
  }

  #expectReply(c: LocalClient, code: number, request: number): unknown[] {
    const i = c.inbox.findIndex((m) => m[0] === code && m[1] === request);
    if (i < 0) this.fail(`${c.name}: no reply ${code} to request ${request}; got ${show(c.inbox)}`);
    return c.inbox.splice(i, 1)[0]!;
  }

  #register(c: LocalClient, procedure: string, options: Record<string, unknown> = {}): void {
    const request = this.nextRequest++;
    c.out([64, request, options, procedure]);
    this.#expectReply(c, 65, request);
  }

  #subscribe(c: LocalClient, topic: string, options: Record<string, unknown> = {}): void {
    const request = this.nextRequest++;
    c.out([32, request, options, topic]);
    const reply = this.#expectReply(c, 33, request);
    this.subscriptions.get(c)?.push(reply[2] as number) ?? this.subscriptions.set(c, [reply[2] as number]);
  }

  setup(): void {
    this.callee = this.#client(this.a, cbor, 'A/callee(cbor)');
    this.subscriber = this.#client(this.a, msgpack, 'A/subscriber(msgpack)');
    this.caller = this.#client(this.a, cbor, 'A/caller(cbor)');
    this.bCallee = this.#client(this.b, json, 'B/callee');
    this.bClient = this.#client(this.b, cbor, 'B/client');
    this.#register(this.callee, 'com.local.echo');
    this.#register(this.callee, 'com.local', { match: 'prefix', invoke: 'roundrobin' });
    this.#subscribe(this.subscriber, 'com.a.topic');
    this.#subscribe(this.subscriber, 'com', { match: 'prefix' });
    this.#register(this.bCallee, 'com.b.echo');
    this.#subscribe(this.bClient, 'com.a.topic');
    this.liveIds.push(
      this.callee.sessionId,
      this.subscriber.sessionId,
      this.caller.sessionId,
      this.bCallee.sessionId,
      this.bClient.sessionId,
      F_CALLEE,
    );
    // Security records on A, for F's replication traffic to start from.
    const store = this.a.security!.store;
    store.createRealm({ uri: 'com.fuzz.r0', authmethods: ['ticket'] });
    store.createGroup('com.fuzz.r0', { name: 'ops' });
    store.createUser('com.fuzz.r0', { authid: 'alice', password: 'alice password', groups: ['ops'] });
    store.createRealm({ uri: 'com.fuzz.r1', authmethods: ['ticket', 'wampcra'] });
    this.a.mesh.peerDiscovered(B);
    this.b.mesh.peerDiscovered(A);
    this.a.mesh.peerDiscovered(F);
    this.advance(500);
    if (!this.linked(A, B) || !this.linked(A, F)) this.fail(`links did not come up: ${show(this.a.mesh.status())}`);
    if (this.a.mesh.status().remoteCallees !== 2)
      this.fail(`A should know B's and F's callees: ${show(this.a.mesh.status())}`);
  }

  /** Time passes: timers, ticks, dials. */
  advance(ms: number): void {
    const until = this.clock.now + ms;
    while (this.clock.now < until) {
      this.clock.run(Math.min(100, until - this.clock.now));
      this.a.mesh.tick(this.clock.now);
      this.b.mesh.tick(this.clock.now);
      this.a.router.tick(this.clock.now);
      this.b.router.tick(this.clock.now);
      this.settle();
    }
  }

  /** After each step: links deliver, clients answer, everything is checked. */
  settle(): void {
    for (let round = 0; ; round++) {
      if (round > 200) this.fail('the nodes and clients kept messaging each other for 200 rounds');
      this.#report();
      let more = false;
      for (const { from, to } of this.#connects.splice(0)) {
        more = true;
        if (to.startsWith('-')) {
          this.#mesh(from)?.linkDown(to.slice(1));
          continue;
        }
        if (to === F) {
          if (this.fReachable && !this.linked(A, F)) this.#fLinkUp();
          else if (!this.fReachable) this.a.mesh.dialFailed(F);
          continue;
        }
        const other = this.#mesh(to);
        if (other === undefined) {
          this.#mesh(from)?.dialFailed(to);
          continue;
        }
        if (!this.linked(from, to)) {
          this.#up.add(this.#linkKey(from, to));
          this.#mesh(from)!.linkUp(to);
          other.linkUp(from);
        } else this.#mesh(from)!.linkUp(to);
      }
      for (const fn of this.#soon.splice(0)) {
        more = true;
        fn();
      }
      for (const { from, to, bytes } of this.#wire.splice(0)) {
        more = true;
        if (!this.linked(from, to)) continue;
        // As LinkConnection reads it: a call's frame only as far as its header.
        const value = (decodeEnvelope(bytes) as unknown[])[0];
        if (process.env.MESH_FUZZ_TRACE) console.log(`${from} -> ${to} ${show(value, 400)}`);
        if (!(value instanceof PassedFrame)) this.pool.push(value as MeshFrame);
        else {
          try {
            this.pool.push((cbor.decode(bytes) as MeshFrame[])[0]!);
          } catch {
            // A payload passed on that only its destination reads (and refuses).
          }
        }
        if (this.pool.length > 300) this.pool.splice(0, 100);
        let reason: string | undefined;
        try {
          reason = this.#mesh(to)!.receive(from, value);
        } catch (error) {
          this.fail(`${to}.receive() threw on a frame from ${from}: ${(error as Error).stack ?? String(error)}`);
        }
        if (reason !== undefined) this.fail(`${to} refused a frame from ${from} (${reason}): ${show(value, 500)}`);
      }
      if (this.fInbox.length > 0) {
        this.#fRead();
        more = true;
      }
      if (this.#clientsAct()) more = true;
      if (!more) break;
    }
    this.#report();
  }

  #report(): void {
    if (this.notes.length > 0) this.fail(this.notes.join('\n  '));
  }

  /** Local clients act on what they got; whether anything happened. */
  #clientsAct(): boolean {
    let acted = false;
    for (const c of this.clients) {
      const messages = c.inbox.splice(0);
      if (messages.length > 0) acted = true;
      for (const m of messages) this.#onMessage(c, m);
    }
    return acted;
  }

  #onMessage(c: LocalClient, m: unknown[]): void {
    const held = this.held.get(c)!;
    switch (m[0]) {
      case 68: {
        // INVOCATION: echo (B's callee sometimes later); a progressive one when its last chunk comes
        this.stats.invocations++;
        const [, request, , details] = m as [number, number, number, Record<string, unknown>];
        if (details.progress === true) {
          held.set(request, m);
          return;
        }
        held.delete(request);
        if (c === this.bCallee && this.bMayHold && this.rng.chance(0.3)) {
          this.bHeld.push(m);
          return;
        }
        if (c === this.callee && this.rng.chance(0.1)) {
          // An honest router passes on what its clients may send: an error whose details or
          // payload hold values our encoders never write (A must still send valid frames).
          const frame = withSplicedValue(
            this.rng,
            cbor,
            this.rng.pick([
              [8, 68, request, DEEP, 'com.local.odd'],
              [8, 68, request, { k: DEEP }, 'com.local.odd'],
              [8, 68, request, {}, 'com.local.odd', [DEEP]],
              [8, 68, request, {}, 'com.local.odd', [], DEEP],
              [8, 68, request, {}, 'com.local.odd', [], { k: DEEP }],
            ]),
            exoticBytes(this.rng, 'cbor'),
            true,
          );
          if (frame !== undefined && c.outRaw(frame)) return void c.open.delete(request);
        }
        if (details.receive_progress === true && this.rng.chance(0.3))
          c.out([70, request, { progress: true }, ...m.slice(4)]);
        c.out([70, request, {}, ...m.slice(4)]);
        return;
      }
      case 69: {
        // INTERRUPT
        const request = m[1] as number;
        held.delete(request);
        const i = c === this.bCallee ? this.bHeld.findIndex((x) => x[1] === request) : -1;
        if (i >= 0) this.bHeld.splice(i, 1);
        if (c.open.has(request)) c.out([8, 68, request, {}, 'wamp.error.canceled']);
        return;
      }
      case 50:
      case 8: {
        // RESULT, ERROR
        if (m[0] === 8 && m[1] !== 48) return; // errors of REGISTER etc. are checked where sent
        const request = (m[0] === 8 ? m[2] : m[1]) as number;
        const call = this.outstanding.get(request);
        if (c !== this.caller && c !== this.bClient)
          return this.note(`${c.name} got an answer to a call it never made: ${show(m)}`);
        if (call === undefined)
          return this.note(`${c.name} got an answer to request ${request}, which is not in flight: ${show(m)}`);
        const progress = m[0] === 50 && (m[2] as Record<string, unknown>).progress === true;
        if (!progress) this.outstanding.delete(request);
        this.stats.results++;
        // Whoever answers, only the callee called can: B's and A's callees echo.
        if (m[0] === 50 && call.trusted && show(m[3]) !== show(call.payload)) {
          this.note(
            `${c.name}'s call to ${call.procedure} was answered with ${show(m)}, not its own payload ${show(call.payload)}`,
          );
        }
        return;
      }
      case 36:
        this.stats.events++;
        return;
      default:
    }
  }

  // ---- probes -------------------------------------------------------------------------------------

  call(from: LocalClient, procedure: string, options: Record<string, unknown> = {}): number {
    const request = this.nextRequest++;
    const payload = [`p${request}`, this.rng.int(1000)];
    // A call to B's callee goes where A's routes say: F may have made them go through itself
    // (forged advertisements, as any member can), or made itself the callee; then F answers.
    // Same for a registration F shares (one of its advertisements may join a shared one).
    let trusted: boolean;
    if (from === this.caller) {
      const callees = this.a.router.realms.get('realm1')!.dealer.match(procedure)?.callees ?? [];
      trusted = callees.every(
        (c) => c.remote !== true || (c.details().node === B && this.a.mesh.lsdb.routes().get(B) === B),
      );
    } else trusted = this.b.mesh.lsdb.routes().get(A) === A;
    this.outstanding.set(request, { procedure, payload, trusted });
    from.out([48, request, options, procedure, payload]);
    return request;
  }

  /** A local call must be answered at once, correctly, whatever F did. */
  probeLocal(): void {
    this.stepKind = 'probe-local';
    // (Exact and 'single': no advertisement can share it. 'com.local.x' F can: see probeRemote.)
    const request = this.call(this.caller, 'com.local.echo');
    this.settle();
    if (this.outstanding.has(request)) this.fail(`a local call (request ${request}) was not answered`);
  }

  probeRemote(): void {
    this.stepKind = 'probe-remote';
    const r = this.rng.int(12);
    if (r < 3) this.call(this.caller, 'com.b.echo', this.rng.chance(0.3) ? { receive_progress: true } : {});
    else if (r < 7) this.call(this.caller, 'com.f.echo', this.rng.chance(0.3) ? { receive_progress: true } : {});
    else if (r < 8) this.call(this.bClient, this.rng.pick(['com.local.echo', 'com.local.x']));
    else if (r < 9) this.call(this.caller, 'com.local.x');
    else if (r < 10) {
      // Calls and publications holding values our encoders never write, as a CBOR client can
      // send them: whatever the core does with them, what A sends on must be valid.
      const request = this.nextRequest++;
      const procedure = this.rng.pick(['com.b.echo', 'com.f.echo', 'com.local.echo']);
      const payload = this.rng.pick([[[DEEP]], [[], { k: DEEP }], [[], DEEP]]);
      const message = this.rng.chance(0.7)
        ? [48, request, {}, procedure, ...payload]
        : [16, request, {}, 'com.a.topic', ...payload];
      const frame = withSplicedValue(this.rng, cbor, message, exoticBytes(this.rng, 'cbor'), true);
      if (message[0] === 48) this.outstanding.set(request, { procedure, payload: undefined, trusted: false });
      if (frame === undefined || !this.caller.outRaw(frame)) this.outstanding.delete(request);
    } else {
      // A publication from A: A's subscriber gets it at once, on both its subscriptions.
      const request = this.nextRequest++;
      this.caller.out([16, request, { acknowledge: true, exclude_me: true }, 'com.a.topic', ['news', request]]);
      const published = this.#expectReply(this.caller, 17, request);
      const events = this.subscriber.inbox.filter((m) => m[0] === 36 && m[2] === published[2]);
      if (events.length !== 2)
        this.fail(
          `A's subscriber got ${events.length} copies of a local publication, not 2: ${show(this.subscriber.inbox)}`,
        );
    }
    this.settle();
  }

  // ---- the run -------------------------------------------------------------------------------------

  run(steps: number): void {
    this.setup();
    for (this.step = 1; this.step <= steps; this.step++) {
      this.lastFrame = undefined;
      const r = this.rng.int(100);
      if (r < 4) {
        this.stepKind = 'time';
        this.advance(this.rng.pick([50, 300, 1_000, 3_000]));
      } else if (r < 5) {
        this.stepKind = 'f-hangs-up';
        this.fLinkDown();
      } else if (r < 7) {
        this.stepKind = 'b-answers';
        for (const m of this.bHeld.splice(0, 1 + this.rng.int(3))) this.bCallee.out([70, m[1], {}, ...m.slice(4)]);
      } else if (r < 8) {
        this.stepKind = 'admin';
        const store = this.a.security!.store;
        try {
          if (this.rng.chance(0.5)) store.createUser('com.fuzz.r0', { authid: `u${this.step}`, password: 'pw' });
          else store.createRealm({ uri: `com.fuzz.n${this.step}`, authmethods: ['ticket'] });
        } catch {
          /* the fuzz may have deleted the realm, or made the name taken */
        }
      } else if (r < 12) {
        this.probeLocal();
      } else if (r < 24) {
        this.probeRemote();
      } else {
        this.fSend();
      }
      this.settle();
      this.#checkStore();
    }
    this.finish();
  }

  /** The replication versions describe exactly what the store holds; the watched realms are untouched. */
  #checkStore(final = false): void {
    if (!final && this.step % 50 !== 0) return;
    const { security, db } = this.a;
    const records = toRecords(security!.store.exportDocument());
    const rows = new Map(
      db!
        .prepare<[], { key: string; hlc: string; node: string; deleted: number; hash: string }>(
          'SELECT key, hlc, node, deleted, hash FROM replica_version',
        )
        .all()
        .map((r) => [r.key, r]),
    );
    for (const [key, value] of records) {
      const row = rows.get(key);
      if (row === undefined || row.deleted !== 0 || (row.hash !== hashValue(value) && row.hash !== '-'))
        this.fail(`A's store holds ${key} but its version says ${show(row)}`);
    }
    for (const [key, row] of rows) {
      if (!HLC.test(row.hlc)) this.fail(`A holds the version ${show(row)} of ${key}: not an HLC`);
      if (row.deleted === 0 && row.hash !== '-' && !records.has(key))
        this.fail(`A's version of ${key} says it is there, but the store does not hold it`);
    }
    for (const realm of LOCAL_REALMS)
      if (this.a.router.realms.get(realm) === undefined) this.fail(`realm ${realm} is gone from A`);
  }

  finish(): void {
    this.stepKind = 'finish';
    // F goes away for good; B's callee answers everything; advertisements F forged expire.
    this.fReachable = false;
    this.bMayHold = false;
    this.fLinkDown();
    this.a.mesh.peerLost(F);
    this.settle();
    for (let i = 0; i < 5; i++) {
      for (const m of this.bHeld.splice(0)) this.bCallee.out([70, m[1], {}, ...m.slice(4)]);
      this.advance(MESH_CONFIG.lsaMaxAgeMs / 2);
    }
    this.#checkStore(true);
    // Progressive invocations still waiting for a last chunk: a cancel in mode 'skip' leaves them
    // to the callee (it is not told). The callees finish them; the Dealer ignores the answers.
    for (const [c, held] of this.held) for (const request of held.keys()) c.out([70, request, {}, ['late']]);
    this.settle();
    if (this.outstanding.size > 0) this.fail(`calls never answered: ${show([...this.outstanding])}`);
    const status = this.a.mesh.status();
    if (status.callsInFlight !== 0)
      this.fail(`A still has ${status.callsInFlight} calls in flight ${show(status, 3000)}`);
    if (status.remoteCallees !== 1) this.fail(`A has ${status.remoteCallees} remote callees, expected B's only`);
    // Callers stand for a router's calls in one realm: only B's may be left (F forged some of B's).
    if ((status.remoteCallers as number) > this.a.router.realms.size)
      this.fail(`A keeps ${String(status.remoteCallers)} remote callers; only B's may be left`);
    if (show(status.routes) !== show({ B })) this.fail(`A's routes: ${show(status.routes)}`);
    for (const node of [this.a, this.b]) {
      for (const [uri, realm] of node.router.realms) {
        if (realm.dealer.pendingCount !== 0)
          this.fail(`${node.id}'s dealer in ${uri} has ${realm.dealer.pendingCount} invocations pending`);
      }
    }

    // Fresh traffic both ways.
    const request = this.call(this.caller, 'com.b.echo');
    this.settle();
    if (this.outstanding.has(request)) {
      const reg = this.a.router.realms.get('realm1')!.dealer.match('com.b.echo');
      this.fail(
        `after the fuzz, A's call to B's callee was not answered; A: ${show(this.a.mesh.status(), 2000)}; registration: ` +
          `${show(reg === undefined ? undefined : { ...reg, callees: reg.callees.map((c) => c.details()) })}`,
      );
    }
    const back = this.call(this.bClient, 'com.local.echo');
    this.settle();
    if (this.outstanding.has(back)) this.fail("after the fuzz, B's call to A's callee was not answered");
    // (settle() consumes the inboxes: count through the stats.)
    const before = this.stats.events;
    this.bClient.out([16, this.nextRequest++, {}, 'com.a.topic', ['from B']]);
    this.settle();
    if (this.stats.events - before !== 2)
      this.fail(
        `after the fuzz, A's subscriber got ${this.stats.events - before} events of a publication from B, not 2`,
      );
    const before2 = this.stats.events;
    this.caller.out([16, this.nextRequest++, {}, 'com.a.topic', ['from A']]);
    this.settle();
    if (this.stats.events - before2 !== 3)
      this.fail(
        `after the fuzz, a publication from A reached ${this.stats.events - before2} subscriptions, not 3 (2 on A, 1 on B); ` +
          `events at A ${show(this.a.mesh.status().events)}, at B ${show(this.b.mesh.status().events)}`,
      );

    // Local clients leave: nothing of theirs stays behind, and only B's callee stays known.
    for (const c of this.clients.filter((x) => x.name.startsWith('A/'))) c.handler.closed();
    this.settle();
    for (const [uri, realm] of this.a.router.realms) {
      const regs = [...realm.dealer.registrations()].map((r) => `${r.procedure} [${r.callees.map((x) => x.id)}]`);
      const expected = uri === 'realm1' ? ['com.b.echo'] : [];
      if (show(regs.map((r) => r.split(' ')[0])) !== show(expected))
        this.fail(`A's registrations in ${uri} after its clients left: ${show(regs)}`);
      if (realm.broker.subscriptionCount !== 0)
        this.fail(`A's realm ${uri} still has ${realm.broker.subscriptionCount} subscriptions`);
      if (realm.sessions.size !== 0) this.fail(`A's realm ${uri} still has ${realm.sessions.size} sessions`);
    }
  }
}

/** MESH_FUZZ_SEED=<seed> replays one seed (as printed in a failure, 0x... or decimal). */
export const only = process.env.MESH_FUZZ_SEED;
export const meshSeeds =
  only !== undefined
    ? [Number(only)]
    : [...MESH_SEEDS, ...Array.from({ length: EXTRA_SEEDS }, (_, i) => 0x3e5_1000 + i)];
