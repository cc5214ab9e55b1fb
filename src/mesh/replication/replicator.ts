// Replicated realm and security state, and whatever other record sources are attached (see
// source.ts: OAuth2 keys and tokens). Every record (realm, group, user, grant, source...) has a
// version: a hybrid logical clock and the node that wrote it. The newest version wins (last
// writer wins per record; ties broken by node ID), deletions are kept as tombstones, and every
// node derives the same document from the same records. Changes are pushed to all nodes as they
// commit; anti-entropy (digest, then versions, then only the differing records) runs on every
// new link and periodically, so a node that was away for a day catches up when it returns.
// Records that expire (a source's expiresAt) are forgotten by every node once expired, versions
// included: no tombstone, and an expired copy arriving late is not applied.
// With mesh trust, each version is signed by its writer when written (trust/record-signature.ts)
// and checked against the writer's admitted key before it is applied; every node keeps the
// record as written and signed, and pushes that, never what it derived from it. A removed
// node's records are adopted: each node writes what it holds of them again under its own name
// (writersRemoved), so they stay, and whatever else the removed key signs is refused.

import crypto from 'node:crypto';
import type { Logger } from '../../log.ts';
import { silentLogger } from '../../log.ts';
import type { SecurityStore } from '../../security/store.ts';
import type { Db } from '../../store/database.ts';
import type { NodeId } from '../node-id.ts';
import { hashValue, type RecordValue } from './records.ts';
import type { ReplicaRecord, ReplicationFrame } from './frames.ts';
import { securitySource, type RecordSource } from './source.ts';

export type { ReplicaRecord, ReplicationFrame } from './frames.ts';
import { meshDefaults } from '../defaults.ts';
import { recordFromText, signRecord, writtenText } from '../trust/record-signature.ts';
import { RecordCheck, type RecordTrust } from './record-check.ts';
import { HybridLogicalClock, newer, type Version } from './hlc.ts';
import { ReplicationLag } from './lag.ts';
import { pushRecords, type ReplicationLinks, sendVersions } from './parts.ts';

export type { ReplicationLinks } from './parts.ts';

/** A record that vanished on import because its references were dropped: present, not deleted. */
const ABSENT = '-';

export class Replicator {
  readonly #self: NodeId;
  readonly #db: Db;
  readonly #sources: readonly RecordSource[];
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #antiEntropyMs: number;
  readonly #trust: RecordTrust | undefined;
  readonly #check: RecordCheck | undefined;
  #links: ReplicationLinks | undefined;
  readonly #clock: HybridLogicalClock;
  #applying = false;
  #lastAntiEntropy = 0;
  /** Versions received from each peer in parts marked `more`, waiting for the last part. */
  readonly #partialVersions = new Map<NodeId, [string, string, NodeId, boolean][]>();
  readonly #lag: ReplicationLag;
  readonly #q;

  constructor(options: {
    node: NodeId;
    db: Db;
    store: SecurityStore;
    /** More record sources beside the security store's (each owns its own key prefixes). */
    sources?: readonly RecordSource[];
    now?: () => number;
    logger?: Logger;
    antiEntropyMs?: number;
    /** Signs this node's records and checks the others'; without it (tests of replication alone) neither. */
    trust?: RecordTrust;
  }) {
    this.#trust = options.trust;
    this.#self = options.node;
    this.#db = options.db;
    const others = options.sources ?? [];
    this.#sources = [securitySource(options.store, (key) => others.some((o) => o.owns(key))), ...others];
    this.#now = options.now ?? Date.now;
    this.#clock = new HybridLogicalClock(this.#now);
    this.#lag = new ReplicationLag(this.#now);
    this.#logger = options.logger ?? silentLogger;
    this.#check = this.#trust === undefined ? undefined : new RecordCheck(this.#trust, this.#logger);
    this.#antiEntropyMs = options.antiEntropyMs ?? meshDefaults.antiEntropyMs;
    this.#q = {
      all: this.#db.prepare<[], VersionRow & { key: string }>(
        'SELECT key, hlc, node, deleted, hash, expires_at, written, sig FROM replica_version ORDER BY key',
      ),
      get: this.#db.prepare<[string], VersionRow>(
        'SELECT hlc, node, deleted, hash, expires_at, written, sig FROM replica_version WHERE key = ?',
      ),
      put: this.#db.prepare(
        'INSERT OR REPLACE INTO replica_version (key, hlc, node, deleted, hash, expires_at, written, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      unwrite: this.#db.prepare('UPDATE replica_version SET written = NULL, sig = NULL WHERE key = ?'),
      forget: this.#db.prepare('DELETE FROM replica_version WHERE key = ?'),
      expired: this.#db.prepare<[number], { key: string }>(
        'SELECT key FROM replica_version WHERE expires_at IS NOT NULL AND expires_at <= ?',
      ),
      count: this.#db.prepare<[], { n: number }>('SELECT count(*) AS n FROM replica_version'),
    };
    for (const row of this.#q.all.all()) this.#clock.observe(row.hlc);
    // Records of nodes removed while this one was away are adopted as the others did (sync below).
    const removed = new Set<NodeId>();
    for (const row of this.#q.all.all())
      if (this.#trust?.isRemoved(row.node) === true && row.node !== this.#self) removed.add(row.node);
    if (removed.size > 0) this.#unwrite(removed);
    for (const source of this.#sources) {
      source.subscribe(() => {
        if (!this.#applying) this.sync(source);
      });
    }
    this.sync();
  }

  attach(links: ReplicationLinks): void {
    this.#links = links;
  }

  linkUp(peer: NodeId): void {
    this.#links?.send(peer, { t: 'repl-digest', digest: this.digest() });
  }

  tick(now: number): void {
    if (now - this.#lastAntiEntropy < this.#antiEntropyMs) return;
    this.#lastAntiEntropy = now;
    // Before the digest: expired versions would otherwise differ between nodes until each forgot them.
    this.#forgetExpired(now);
    for (const peer of this.#links?.neighbours() ?? []) this.linkUp(peer);
  }

  /** Handles a replication frame; returns a reason when it is malformed. */
  receive(peer: NodeId, frame: ReplicationFrame): string | undefined {
    switch (frame.t) {
      case 'repl-digest':
        this.#forgetExpired(this.#now());
        if (frame.digest !== this.digest()) sendVersions(this.#links, this.#logger, peer, this.#versionList(), false);
        else this.#lag.caughtUp(peer);
        return undefined;
      case 'repl-versions': {
        // Parts of a split list are gathered first: what to push depends on the whole of it.
        const gathered = [...(this.#partialVersions.get(peer) ?? []), ...frame.versions];
        if (frame.more === true) {
          if (gathered.length > this.#maxGathered()) {
            this.#partialVersions.delete(peer);
            return `repl-versions: more than ${this.#maxGathered()} versions in one list`;
          }
          this.#partialVersions.set(peer, gathered);
          return undefined;
        }
        this.#partialVersions.delete(peer);
        const theirs = new Map(gathered.map(([key, hlc, node, deleted]) => [key, { hlc, node, deleted }]));
        const push: ReplicaRecord[] = [];
        const ours = new Map<string, Version>();
        this.#forgetExpired(this.#now());
        for (const row of this.#q.all.all()) {
          ours.set(row.key, row);
          const t = theirs.get(row.key);
          if (t !== undefined && !newer(row, t)) continue;
          if (row.written !== null) push.push(recordFromText(row.written, row.sig));
        }
        this.#lag.noteLacking(peer, theirs, ours);
        pushRecords(this.#links, this.#logger, peer, push);
        // They pushed what we lack only if they asked first; otherwise ask them to.
        if (!frame.reply) sendVersions(this.#links, this.#logger, peer, this.#versionList(), true);
        return undefined;
      }
      case 'repl-push': {
        const accepted = this.apply(frame.records, peer);
        this.#lag.noteReceived(peer, frame.records, (key) => this.#q.get.get(key));
        // Flood onwards only what was news here: the flood stops where nothing is new.
        for (const other of this.#links?.neighbours() ?? [])
          if (other !== peer) pushRecords(this.#links, this.#logger, other, accepted);
        return undefined;
      }
    }
  }

  /**
   * Records local changes since the last call (of `only`, else of every source) as new versions
   * and pushes them to every neighbour.
   */
  sync(only?: RecordSource): void {
    const now = this.#now();
    this.#forgetExpired(now);
    const changed: ReplicaRecord[] = [];
    this.#db.transaction(() => {
      for (const source of only === undefined ? this.#sources : [only]) {
        const current = source.snapshot();
        for (const [key, value] of current) {
          const hash = hashValue(value);
          const v = this.#q.get.get(key);
          // A version without its written form (an upgrade, a removed writer's) is written again.
          if (v !== undefined && v.deleted === 0 && v.written !== null && (v.hash === hash || v.hash === ABSENT))
            continue;
          changed.push(this.#write(key, { value, hash, expires: source.expiresAt?.(value) ?? null }));
        }
        for (const row of this.#q.all.all()) {
          if (current.has(row.key) || !source.owns(row.key)) continue;
          if (row.written !== null && (row.deleted === 1 || row.hash === ABSENT)) continue;
          // Gone because it expired: forgotten, not deleted (every node forgets it by itself).
          // So is a record held absent without its written form: its writer's copy comes back.
          if ((row.expires_at !== null && row.expires_at <= now) || row.hash === ABSENT) {
            this.#q.forget.run(row.key);
            continue;
          }
          changed.push(this.#write(row.key, { hash: '', expires: row.expires_at }));
        }
      }
    })();
    for (const peer of this.#links?.neighbours() ?? []) pushRecords(this.#links, this.#logger, peer, changed);
  }

  /**
   * A new version of `key` by this node (`value` undefined: a deletion), kept as written and
   * signed; returns the record to push.
   */
  #write(key: string, w: { value?: RecordValue; hash: string; expires: number | null }): ReplicaRecord {
    const hlc = this.#clock.tick();
    const deleted = w.value === undefined;
    const record: ReplicaRecord = {
      key,
      hlc,
      node: this.#self,
      deleted,
      ...(w.value !== undefined && { value: w.value }),
      ...(deleted && w.expires !== null && { expires: w.expires }),
    };
    const text = writtenText(record);
    const sig = this.#trust === undefined ? null : signRecord(this.#trust.key, record);
    this.#q.put.run(key, hlc, this.#self, deleted ? 1 : 0, w.hash, w.expires, text, sig);
    return recordFromText(text, sig);
  }

  /**
   * Nodes removed from the mesh: what this node holds of their records is written again under
   * its own name, so those records stay (an administrator's users made on a board taken out of
   * service) and still check on every node, while anything else signed with the revoked key is
   * refused. Every node does it; the newest of their versions wins as usual.
   */
  writersRemoved(nodes: readonly NodeId[]): void {
    this.#unwrite(new Set(nodes.filter((n) => n !== this.#self)));
    this.sync();
  }

  #unwrite(nodes: ReadonlySet<NodeId>): void {
    if (nodes.size === 0) return;
    this.#db.transaction(() => {
      for (const row of this.#q.all.all()) if (nodes.has(row.node)) this.#q.unwrite.run(row.key);
    })();
  }

  #forgetExpired(now: number): void {
    const keys = this.#q.expired.all(now);
    if (keys.length > 0) this.#db.transaction(() => keys.forEach((r) => this.#q.forget.run(r.key)))();
  }

  /** A peer's split list may hold its records and ours, and then some; never without bound. */
  #maxGathered(): number {
    return 2 * this.#q.count.get()!.n + 100_000;
  }

  /**
   * Merges remote records (from the neighbour `peer`, for the log); returns those that were
   * newer here (applied), as written by their writers.
   */
  apply(records: readonly ReplicaRecord[], peer?: NodeId): ReplicaRecord[] {
    const now = this.#now();
    const horizon = now + meshDefaults.clockAheadMaxMs;
    const early: string[] = [];
    const written = new Map<ReplicaRecord, string>();
    const accepted = records.filter((r) => {
      const source = this.#sourceOf(r.key);
      if (source === undefined) return false;
      // Too far ahead (see clockAheadMaxMs): once observed, a version like
      // "999999999999999.999999" would leave no later one to write (every peer refuses
      // "...999.1000000"). Not applied, not observed.
      if (Number(r.hlc.slice(0, 15)) > horizon) {
        early.push(r.key);
        return false;
      }
      const mine = this.#q.get.get(r.key);
      // Not newer: a copy of what this node holds (or older), dropped before any signature check.
      if (mine !== undefined && !newer(r, { hlc: mine.hlc, node: mine.node })) return false;
      // Expired already: nothing to apply; the record is forgotten everywhere soon.
      const expires = r.value === undefined ? (r.expires ?? mine?.expires_at) : source.expiresAt?.(r.value);
      if (expires !== undefined && expires !== null && expires <= now) return false;
      if (this.#check !== undefined && !this.#check.admits(r, peer)) return false;
      // Only a version that checks moves the clock: a forged one dated far ahead would otherwise
      // date every later write of this node.
      this.#clock.observe(r.hlc);
      written.set(r, writtenText(r));
      return true;
    });
    if (early.length > 0)
      this.#logger.warn(
        { records: early.slice(0, 5), count: early.length },
        "replicated records dated more than clockAheadMaxMs ahead of this node's clock: not applied (is a clock wrong?)",
      );
    if (accepted.length === 0) return accepted;
    const applied: ReplicaRecord[] = [];
    for (const source of this.#sources) {
      const mine = accepted.filter((r) => source.owns(r.key));
      if (mine.length === 0) continue;
      const changes = new Map(mine.map((r) => [r.key, r.deleted ? undefined : r.value]));
      let after: ReadonlyMap<string, RecordValue | undefined>;
      this.#applying = true;
      try {
        after = source.apply(changes);
      } catch (err) {
        this.#logger.error({ err: (err as Error).message }, 'replicated security records could not be applied');
        continue;
      } finally {
        this.#applying = false;
      }
      // Versions record what the source holds now (a source may drop references to missing
      // records), so sync() sees no change and nothing echoes back.
      this.#db.transaction(() => {
        for (const r of mine) {
          const value = after.get(r.key);
          // A deletion of a record that expires keeps its expiry, so its tombstone goes too.
          const expires =
            value === undefined ? (r.expires ?? this.#q.get.get(r.key)?.expires_at ?? null) : source.expiresAt?.(value);
          this.#q.put.run(
            r.key,
            r.hlc,
            r.node,
            r.deleted ? 1 : 0,
            r.deleted ? '' : value === undefined ? ABSENT : hashValue(value),
            expires ?? null,
            written.get(r)!,
            r.sig ?? null,
          );
        }
      })();
      for (const r of mine) applied.push(recordFromText(written.get(r)!, r.sig ?? null));
    }
    this.sync();
    return applied;
  }

  digest(): string {
    const h = crypto.createHash('sha256');
    for (const row of this.#q.all.all()) h.update(`${row.key}\0${row.hlc}\0${row.node}\0${row.deleted}\n`);
    return h.digest('base64url');
  }

  /** Records refused, by why (with mesh trust): for `mesh status`. */
  get refused(): Readonly<RecordCheck['refused']> | undefined {
    return this.#check?.refused;
  }

  status(): { records: number; digest: string; lagMs: Record<NodeId, number> } {
    return { records: this.#q.all.all().length, digest: this.digest(), lagMs: this.lag() };
  }

  /**
   * Per neighbour, how long this node has known it lacks records the neighbour holds
   * (milliseconds; 0 when it lacks none it knows of). Known from anti-entropy, on every new
   * link and every antiEntropyMs; a change pushed as it commits is not counted while in flight.
   */
  lag(): Record<NodeId, number> {
    return this.#lag.lag(new Set(this.#links?.neighbours() ?? []));
  }

  #versionList(): [string, string, NodeId, boolean][] {
    return this.#q.all.all().map((r) => [r.key, r.hlc, r.node, r.deleted === 1]);
  }

  #sourceOf(key: string): RecordSource | undefined {
    return this.#sources.find((s) => s.owns(key));
  }
}

interface VersionRow {
  hlc: string;
  node: string;
  deleted: number;
  hash: string;
  expires_at: number | null;
  /** The record as its writer wrote it (trust/record-signature.ts writtenText), and its signature. */
  written: string | null;
  sig: Uint8Array | null;
}
