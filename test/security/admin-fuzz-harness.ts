// One seed of the admin API fuzz (test/security/admin-fuzz.test.ts): a router and its SQLite store
// with administrators on every serialization, the calls sent, and every promise checked after each.

import { rmSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../../src/log.ts';
import { Router } from '../../src/router/router.ts';
import { ManualScheduler } from '../../src/router/scheduler.ts';
import type { Serializer } from '../../src/serializers/index.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import {
  ADMIN_REALM,
  attachSecurity,
  createSecurity,
  SecurityErrorUri,
  SecurityStore,
  type RealmDocument,
  type Security,
  type SecurityDocument,
} from '../../src/security/index.ts';
import { DEEP, Rng, withDeepValue } from '../helpers/fuzz-input.ts';
import { SERIALIZERS, Violation, show } from '../helpers/fuzz-checks.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { type Call, CallBuilder, type Dict } from './admin-fuzz-calls.ts';
import { asKwargs, mutate, valueSlots } from './admin-fuzz-mutations.ts';
import { resultMismatch } from './admin-fuzz-results.ts';
import { FAILURE_DELAY, testHashing, tmpDir } from './helpers.ts';

const KNOWN_REALM = 'com.known';
const KNOWN_USER = 'alice';
const KNOWN_PASSWORD = 'correct horse battery';
const NETWORK_PEER = '10.1.2.3:40000';
export const ADMIN_PEER = 'unix:/run/wampmesh.sock';

/** The error URIs a refusal may carry (src/security/errors.ts, src/wamp/uris.ts). */
const ERROR_URI = /^(wamp|wampmesh)\.error\.[a-z_]+(\.[a-z_]+)*$/;

interface AdminClient {
  readonly client: MemoryClient;
  readonly serializer: Serializer;
  request: number;
  /** Told GOODBYE or ABORT: its user, group, source or realm was changed under it. */
  ended: boolean;
}

/** GOODBYE and ABORT: how a change to the administrator's own access reaches its sessions. */
const isEnd = (m: unknown[]) => m[0] === 6 || m[0] === 3;

/** Whether a string anywhere in the value (keys included) holds a lone surrogate. */
function holdsLoneSurrogate(v: unknown): boolean {
  if (typeof v === 'string') return !v.isWellFormed();
  if (Array.isArray(v)) return v.some(holdsLoneSurrogate);
  if (v !== null && typeof v === 'object')
    return Object.entries(v).some(([k, x]) => !k.isWellFormed() || holdsLoneSurrogate(x));
  return false;
}

export class AdminFuzz {
  readonly seed: number;
  readonly rng: Rng;
  readonly calls: CallBuilder;
  readonly dir: string;
  readonly db: Db;
  readonly security: Security;
  readonly store: SecurityStore;
  readonly router: Router;
  readonly scheduler = new ManualScheduler();
  readonly mirrorDir: string;
  readonly mirrorDb: Db;
  readonly mirror: SecurityStore;
  readonly errors: string[] = [];
  readonly admins: AdminClient[] = [];
  /** The document the seed starts from (admin realm and the known realm). */
  readonly baseline: SecurityDocument;
  readonly adminRealm: RealmDocument;
  step = 0;
  call: Call | undefined;
  /** The serialization the call went in. */
  via = '';
  stats = {
    calls: 0,
    results: 0,
    errors: 0,
    unencodable: 0,
    deep: 0,
    kwargs: 0,
    restores: 0,
    byUri: {} as Record<string, number>,
    accepted: {} as Record<string, number>,
  };

  constructor(seed: number) {
    this.seed = seed;
    this.rng = new Rng(seed);
    this.calls = new CallBuilder(this.rng);
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (obj, msg) => {
        this.errors.push(`${msg ?? ''} ${show(obj, 1000)}`);
      },
      child: () => logger,
    };
    this.dir = tmpDir();
    this.db = openDatabase(this.dir);
    this.db.pragma('synchronous = OFF'); // thrown away afterwards: no fsync per write
    const clock = { now: 1_700_000_000_000 };
    this.security = createSecurity(this.db, { hashing: testHashing, now: () => clock.now });
    this.store = this.security.store;
    this.router = new Router({
      realms: this.security.realmConfigs(),
      authenticator: this.security.authenticator,
      authorizer: this.security.authorizer,
      scheduler: this.scheduler,
      now: () => clock.now,
      authFailureDelayMs: FAILURE_DELAY,
      logger,
    });
    attachSecurity(this.router, this.security, { logger });
    // The realm whose user must still log in at the end.
    this.store.batch(() => {
      this.store.createRealm({ uri: KNOWN_REALM, authmethods: ['ticket', 'wampcra', 'anonymous'] });
      this.store.createGroup(KNOWN_REALM, { name: 'app' });
      this.store.createUser(KNOWN_REALM, { authid: KNOWN_USER, groups: ['app'], password: KNOWN_PASSWORD });
      this.store.createGrant(KNOWN_REALM, {
        permissions: ['call'],
        uri: 'com.app.',
        match: 'prefix',
        to: ['group:app'],
      });
      this.store.createSource(KNOWN_REALM, {
        cidr: '10.0.0.0/8',
        authmethods: ['ticket', 'wampcra'],
        to: ['group:app'],
      });
    });
    this.baseline = this.store.exportDocument();
    this.adminRealm = this.baseline.realms.find((r) => r.uri === ADMIN_REALM)!;
    this.mirrorDir = tmpDir();
    this.mirrorDb = openDatabase(this.mirrorDir);
    this.mirrorDb.pragma('synchronous = OFF');
    this.mirror = new SecurityStore(this.mirrorDb, { protectedRealms: [ADMIN_REALM], hashing: testHashing });
    for (const serializer of SERIALIZERS) this.admins.push(this.#connectAdmin(serializer));
  }

  fail(message: string): never {
    throw new Violation(
      `seed 0x${this.seed.toString(16)} step ${this.step}: ${message}\n  call (${this.via}): ${show(this.call, 600)}`,
    );
  }

  #connectAdmin(serializer: Serializer): AdminClient {
    const client = new MemoryClient(this.router, serializer, ADMIN_PEER);
    client.send([1, ADMIN_REALM, { roles: { caller: {} }, authmethods: ['trust'], authid: 'admin' }]);
    const welcome = client.take()[0];
    if (welcome?.[0] !== 2) this.fail(`the administrator cannot join (${serializer.name}): ${show(welcome)}`);
    return { client, serializer, request: 0, ended: false };
  }

  // ---- running and checking ------------------------------------------------------------------

  /** Sends the call; returns what came back, or undefined when the call cannot be encoded. */
  send(admin: AdminClient, call: Call, deep: boolean): unknown[][] | undefined {
    const request = ++admin.request;
    const message: unknown[] = [
      48,
      request,
      {},
      call.procedure,
      call.args,
      ...(call.kwargs !== undefined ? [call.kwargs] : []),
    ];
    if (deep) {
      // A value nested far beyond what the encoders write, spliced in as bytes somewhere in the
      // arguments (DEEP marks the spot).
      const slots = valueSlots(message.slice(4));
      const slot = slots.length > 0 ? this.rng.pick(slots) : undefined;
      if (slot === undefined) message[4] = [DEEP];
      else (slot.parent as Dict)[slot.key as string] = DEEP;
      const frame = withDeepValue(this.rng, admin.serializer, message, true);
      if (frame === undefined) return undefined;
      this.stats.deep++;
      admin.client.sendRaw(frame);
    } else {
      let frame: Uint8Array;
      try {
        frame = admin.serializer.encode(message);
        // A frame our own decoder refuses is a transport matter (test/hostile): ABORT, no call.
        admin.serializer.decode(frame);
      } catch {
        return undefined; // e.g. a BigInt in JSON: the client could not have sent it
      }
      admin.client.sendRaw(frame);
    }
    return admin.client.take();
  }

  checkAnswer(admin: AdminClient, got: unknown[][], refusable: boolean): 'result' | 'error' {
    const request = admin.request;
    // A change to the caller's own access ends its session, after the answer.
    const answers = got.filter((m) => !isEnd(m));
    if (answers.length < got.length) admin.ended = true;
    // A frame nested too deep to decode, or not UTF-8, is refused by the session (ABORT
    // protocol_violation), as test/hostile covers; the call never reached the admin API.
    if (refusable && answers.length === 0 && got.some((m) => m[0] === 3 && m[2] === 'wamp.error.protocol_violation'))
      return 'error';
    if (answers.length !== 1) this.fail(`expected one answer, got ${answers.length}: ${show(got, 1000)}`);
    if (admin.client.closed && !admin.ended)
      this.fail(`the admin session was closed (${show(admin.client.closeReason)}) without being told`);
    const m = answers[0]!;
    if (m[0] === 50 && m[1] === request) return 'result';
    if (m[0] !== 8 || m[1] !== 48 || m[2] !== request) {
      this.fail(`not a RESULT or ERROR for request ${request}: ${show(m, 1000)}`);
    }
    const uri = m[4];
    const args = m[5];
    if (typeof uri !== 'string' || !ERROR_URI.test(uri))
      this.fail(`ERROR without a wamp.error.* or wampmesh.error.* URI: ${show(m, 1000)}`);
    if (uri === SecurityErrorUri.INTERNAL)
      this.fail(`internal error: ${show(m, 1000)}; log: ${this.errors.join(' | ')}`);
    if (!Array.isArray(args) || typeof args[0] !== 'string' || args[0].length === 0)
      this.fail(`ERROR without a message: ${show(m, 1000)}`);
    this.stats.byUri[uri] = (this.stats.byUri[uri] ?? 0) + 1;
    return 'error';
  }

  /** The store's own checks on its state: its export imports into a fresh store and comes back the same. */
  checkRoundTrip(doc: SecurityDocument): void {
    try {
      this.mirror.importDocument(doc);
    } catch (err) {
      this.fail(`the store's export does not import back: ${(err as Error).message}`);
    }
    const again = this.mirror.exportDocument();
    if (!isDeepStrictEqual(again, doc))
      this.fail(`export -> import -> export differs:\n  before ${show(doc, 2000)}\n  after  ${show(again, 2000)}`);
  }

  checkRouterRealms(doc: SecurityDocument): void {
    const served = [...this.router.realms.keys()].sort();
    const stored = doc.realms.map((r) => r.uri).sort();
    if (!isDeepStrictEqual(served, stored))
      this.fail(`the router serves ${show(served)}, the store holds ${show(stored)}`);
  }

  /**
   * The fuzz may take the administrator's own access away (delete user "admin", its group, the
   * Unix source, disable the realm), which the API allows; put the admin realm back as it was
   * (directly in the store) and reconnect, so the rest of the seed still reaches the API.
   */
  restoreAdmin(doc: SecurityDocument): void {
    const current = doc.realms.find((r) => r.uri === ADMIN_REALM);
    this.#drainAdmins();
    const healthy =
      current !== undefined && isDeepStrictEqual(current, this.adminRealm) && this.admins.every((a) => !a.ended);
    if (healthy) return;
    this.stats.restores++;
    const realms = doc.realms.map((r) => (r.uri === ADMIN_REALM ? this.adminRealm : r));
    try {
      this.store.importDocument({ version: 1, realms });
    } catch {
      this.store.importDocument(this.baseline); // ids of the admin realm taken by another realm: start over
    }
    // Putting the old credentials back ends the sessions again.
    this.#drainAdmins();
    for (let i = 0; i < this.admins.length; i++) {
      const a = this.admins[i]!;
      if (!a.ended) continue;
      if (!a.client.closed) a.client.send([6, {}, 'wamp.close.goodbye_and_out']);
      this.admins[i] = this.#connectAdmin(a.serializer);
    }
  }

  /** Messages no call asked for may only be the end of a session. */
  #drainAdmins(): void {
    for (const a of this.admins) {
      const queued = a.client.take();
      if (queued.some((m) => !isEnd(m))) this.fail(`an admin session got ${show(queued, 600)} without asking`);
      if (queued.length > 0 || a.client.closed) a.ended = true;
    }
  }

  run(steps: number): void {
    for (this.step = 1; this.step <= steps; this.step++) {
      const before = this.store.exportDocument();
      const version = this.store.version;
      let call = this.calls.validCall(before);
      if (this.rng.chance(0.7)) call = mutate(this.rng, call, before);
      if (this.rng.chance(0.2)) {
        const kwargs = asKwargs(call);
        if (kwargs !== call) this.stats.kwargs++;
        call = kwargs;
      }
      this.call = call;
      const admin = this.rng.pick(this.admins);
      this.via = admin.serializer.name;
      const deep = this.rng.chance(0.03);
      const started = performance.now();
      const got = this.send(admin, call, deep);
      const took = performance.now() - started;
      if (got === undefined) {
        this.stats.unencodable++;
        continue;
      }
      this.stats.calls++;
      if (took > 5_000) this.fail(`the call took ${Math.round(took)} ms`);
      // CBOR and MsgPack carry a lone surrogate as bytes that are not UTF-8: the router may refuse
      // the frame itself (ABORT protocol_violation) before any call, as for a value nested too deep.
      const notUtf8 = admin.serializer.name !== 'json' && holdsLoneSurrogate(call);
      const outcome = this.checkAnswer(admin, got, deep || notUtf8);
      if (this.errors.length > 0) this.fail(`logged at error level: ${this.errors.join(' | ')}`);
      const after = this.store.exportDocument();
      if (outcome === 'error') {
        this.stats.errors++;
        if (!isDeepStrictEqual(after, before))
          this.fail(
            `refused (${show(got[0], 400)}) but the store changed:\n  before ${show(before, 2000)}\n  after  ${show(after, 2000)}`,
          );
        if (this.store.version !== version) this.fail(`refused (${show(got[0], 400)}) but a write was committed`);
      } else {
        this.stats.results++;
        const name = call.procedure.slice('wampmesh.'.length);
        this.stats.accepted[name] = (this.stats.accepted[name] ?? 0) + 1;
        const mismatch = resultMismatch(call, got.find((m) => m[0] === 50)!, after, this.via);
        if (mismatch !== undefined) this.fail(mismatch);
        this.checkRoundTrip(after);
      }
      this.checkRouterRealms(after);
      this.restoreAdmin(after);
    }
    this.step = steps + 1;
    this.call = undefined;
  }

  /** After run(): the ticket is checked off the event loop, so the login is awaited. */
  async finalChecks(): Promise<void> {
    const integrity = this.db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') this.fail(`PRAGMA integrity_check: ${show(integrity)}`);
    const fk = this.db.pragma('foreign_key_check') as unknown[];
    if (fk.length > 0) this.fail(`PRAGMA foreign_key_check: ${show(fk)}`);
    // The API still answers, and takes the starting document back.
    const admin = this.admins[0]!;
    const list = this.send(admin, { procedure: 'wampmesh.realm.list', args: [] }, false)!;
    if (list[0]?.[0] !== 50) this.fail(`realm.list after the fuzz: ${show(list)}`);
    const imported = this.send(admin, { procedure: 'wampmesh.security.import', args: [this.baseline] }, false)!;
    if (imported[0]?.[0] !== 50) this.fail(`importing the starting document after the fuzz: ${show(imported)}`);
    if (!isDeepStrictEqual(this.store.exportDocument(), this.baseline))
      this.fail('the starting document did not come back');
    // A known user logs in with its password over the network, the administrator by trust.
    const c = new MemoryClient(this.router, SERIALIZERS[this.seed % 3]!, NETWORK_PEER);
    c.send([1, KNOWN_REALM, { roles: { caller: {} }, authmethods: ['ticket'], authid: KNOWN_USER }]);
    const challenge = c.take()[0];
    if (challenge?.[0] !== 4) this.fail(`no CHALLENGE for the known user: ${show(challenge)}`);
    c.send([5, KNOWN_PASSWORD, {}]);
    const deadline = Date.now() + 10_000;
    while (c.received.length === 0 && Date.now() < deadline) {
      this.scheduler.advance(FAILURE_DELAY); // a refusal comes after the failure delay
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const welcome = c.take()[0];
    if (welcome?.[0] !== 2) this.fail(`the known user cannot log in: ${show(welcome)}`);
    c.send([48, 1, {}, 'com.app.nothing', []]);
    const answer = c.take()[0];
    if (answer?.[0] !== 8 || answer[4] !== 'wamp.error.no_such_procedure')
      this.fail(`the known user's grant: ${show(answer)}`);
    this.#connectAdmin(SERIALIZERS[(this.seed + 1) % 3]!);
    if (this.errors.length > 0) this.fail(`logged at error level: ${this.errors.join(' | ')}`);
  }

  dispose(): void {
    this.db.close();
    this.mirrorDb.close();
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.mirrorDir, { recursive: true, force: true });
  }
}
