// Who belongs to the mesh: the admitted node keys, read from signed statements (statements.ts)
// that every node keeps and floods. Sans-IO: the statements come in and go out through MeshNode,
// and are kept on disk by whoever passes `save`.
//
// The set is a grow-only set of signed statements, so every node that holds the same statements
// derives the same members, whatever order they came in: no clock, no last-writer-wins (a later
// write cannot undo a removal). A node trusts
//   - itself, and the nodes that signed its own admission (whoever admitted it speaks for the mesh);
//   - then, transitively, every key admitted by a trusted key;
// minus every key a trusted key revoked. A node id is bound to one key: two admissions of one id
// with different keys are settled by the earlier `at` (then the smaller key), and a node that
// presents another key than its id's is refused at the handshake. Nobody can admit itself: an
// admission counts only when signed by a key that is trusted already.
//
// What a member can still do (the price of letting members admit): a member signs admissions
// and removals, so a compromised one can admit more keys or remove others until it is removed
// itself. What it cannot do: speak for another node (advertisements, identities, admissions are
// signed by their origin) or undo a removal.

import type { Logger } from '../../log.ts';
import { silentLogger } from '../../log.ts';
import type { NodeId } from '../node-id.ts';
import { keyText, type NodeKey } from './node-key.ts';
import { signatureHolds, signStatement, statementId, type MemberStatement } from './statements.ts';

export type { MemberStatement } from './statements.ts';

/** Why a node is not let in, with the close code the link protocol sends it. */
export interface AdmissionRefusal {
  readonly code: 'removed' | 'not-admitted' | 'key-mismatch';
  readonly reason: string;
}

export interface MeshTrustOptions {
  self: NodeId;
  key: NodeKey;
  /**
   * Whether proving the cluster secret at the handshake admits a node that is not admitted yet
   * (the bootstrap credential). Off: only nodes an administrator admitted (`wampmesh mesh admit`).
   */
  secretJoin: boolean;
  /** Statements kept from earlier runs. */
  statements?: readonly MemberStatement[];
  /** Called with every statement after each change (to keep them on disk). */
  save?: (statements: readonly MemberStatement[]) => void;
  now: () => number;
  logger?: Logger;
  /** Statements kept at most; past it, new ones from unknown signers are not kept. */
  maxStatements?: number;
}

/** Nodes refused for want of an admission, remembered for `wampmesh mesh admit NODE`. */
const MAX_PENDING = 64;
const DEFAULT_MAX_STATEMENTS = 20_000;

export class MeshTrust {
  readonly self: NodeId;
  readonly key: NodeKey;
  secretJoin: boolean;
  readonly #selfKey: string;
  readonly #statements = new Map<string, Entry>();
  #removedNodes = new Set<NodeId>();
  /** The (node, key) pairs this node signed an admission of. */
  readonly #vouched = new Set<string>();
  #members = new Map<NodeId, Uint8Array>();
  #revoked = new Set<string>();
  readonly #pending = new Map<NodeId, Uint8Array>();
  readonly #save: ((statements: readonly MemberStatement[]) => void) | undefined;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #max: number;
  readonly #changeListeners: ((removed: readonly NodeId[]) => void)[] = [];
  readonly #statementListeners: ((s: MemberStatement) => void)[] = [];

  constructor(options: MeshTrustOptions) {
    this.self = options.self;
    this.key = options.key;
    this.secretJoin = options.secretJoin;
    this.#selfKey = keyText(options.key.publicKey);
    this.#save = options.save;
    this.#now = options.now;
    this.#log = options.logger ?? silentLogger;
    this.#max = options.maxStatements ?? DEFAULT_MAX_STATEMENTS;
    for (const s of options.statements ?? []) if (signatureHolds(s)) this.#keep(s);
    this.#recompute();
  }

  /** The key `node` is admitted with (this node's own for itself); undefined for a non-member. */
  keyOf(node: NodeId): Uint8Array | undefined {
    return node === this.self ? this.key.publicKey : this.#members.get(node);
  }

  /** Whether a key of `node` was revoked and no other is admitted for it. */
  isRemoved(node: NodeId): boolean {
    return this.#removedNodes.has(node);
  }

  /**
   * A peer proved the cluster secret and holding `key` at the handshake: whether it may link.
   * With secretJoin, a node not admitted yet is admitted here (this node signs it).
   */
  admitPeer(node: NodeId, key: Uint8Array): AdmissionRefusal | undefined {
    const text = keyText(key);
    if (this.#revoked.has(text))
      return { code: 'removed', reason: `node ${node} was removed from the mesh (its key ${text} is revoked)` };
    const bound = this.#members.get(node);
    if (bound !== undefined) {
      if (keyText(bound) === text) {
        // Each node vouches for its neighbours itself: a node admitted by one member only would
        // otherwise lose its membership with that member's removal, and take its links with it.
        if (!this.#vouched.has(`${node}\u0000${text}`))
          this.#add(signStatement(this.key, this.self, 'admit', node, key, this.#now()), true);
        return undefined;
      }
      return {
        code: 'key-mismatch',
        reason: `node ${node} presented the key ${text}, but the node id is admitted with ${keyText(bound)}`,
      };
    }
    if (this.isRemoved(node))
      return {
        code: 'removed',
        reason: `node ${node} was removed from the mesh; only an administrator can admit it again (wampmesh mesh admit ${node} KEY)`,
      };
    if (!this.secretJoin) {
      if (this.#pending.size >= MAX_PENDING && !this.#pending.has(node))
        this.#pending.delete(this.#pending.keys().next().value!);
      this.#pending.set(node, Uint8Array.from(key));
      return {
        code: 'not-admitted',
        reason: `node ${node} (key ${text}) is not admitted to the mesh: admit it with \`wampmesh mesh admit ${node}\``,
      };
    }
    this.#add(signStatement(this.key, this.self, 'admit', node, key, this.#now()), true);
    this.#log.info({ peer: node, key: text }, 'mesh node admitted with the cluster secret');
    return undefined;
  }

  /** An administrator admits `node` with `key` (default: the key it presented when refused). */
  admit(node: NodeId, key?: Uint8Array): MemberStatement | string {
    const k = key ?? this.#pending.get(node);
    if (k === undefined)
      return `no key known for node ${node}: give its public key (it is in its log and \`wampmesh mesh status\`)`;
    if (node === this.self) return 'a node cannot admit itself';
    if (this.#revoked.has(keyText(k))) return `the key ${keyText(k)} was revoked; the node must make a new one`;
    const bound = this.#members.get(node);
    if (bound !== undefined && keyText(bound) === keyText(k)) return `node ${node} is admitted already`;
    const s = signStatement(this.key, this.self, 'admit', node, k, this.#now());
    this.#add(s, true);
    this.#pending.delete(node);
    return s;
  }

  /** An administrator removes `node`: its key is revoked cluster-wide, for good. */
  remove(node: NodeId): MemberStatement | string {
    const key = this.#members.get(node);
    if (key === undefined) return node === this.self ? 'a node cannot remove itself' : `node ${node} is not a member`;
    const s = signStatement(this.key, this.self, 'remove', node, key, this.#now());
    this.#add(s, true);
    return s;
  }

  /** A statement from a neighbour: true when it is new and signed as it says (flood it on). */
  receive(s: MemberStatement): boolean {
    const id = statementId(s);
    if (this.#statements.has(id)) return false;
    if (!signatureHolds(s)) {
      this.#log.warn(
        { node: s.node, from: s.from, op: s.op },
        'mesh membership statement with a bad signature; dropped',
      );
      return false;
    }
    if (this.#statements.size >= this.#max) {
      this.#log.warn({ max: this.#max }, 'mesh membership statements at their limit; a new one is not kept');
      return false;
    }
    this.#add(s, false);
    return true;
  }

  statements(): MemberStatement[] {
    return [...this.#statements.values()].map((e) => e.s);
  }

  /** `listener` hears the members that lost their membership after each change. */
  onChange(listener: (removed: readonly NodeId[]) => void): void {
    this.#changeListeners.push(listener);
  }

  /** `listener` hears each statement this node signs (to flood it). */
  onStatement(listener: (s: MemberStatement) => void): void {
    this.#statementListeners.push(listener);
  }

  status(): {
    key: string;
    secretJoin: boolean;
    members: Record<NodeId, string>;
    removed: NodeId[];
    pending: Record<NodeId, string>;
  } {
    return {
      key: this.#selfKey,
      secretJoin: this.secretJoin,
      members: Object.fromEntries([...this.#members].map(([n, k]) => [n, keyText(k)]).sort()),
      removed: [...this.#removedNodes].sort(),
      pending: Object.fromEntries([...this.#pending].map(([n, k]) => [n, keyText(k)])),
    };
  }

  #add(s: MemberStatement, local: boolean): void {
    this.#keep(s);
    const before = this.#members;
    this.#recompute();
    const removed = [...before.keys()].filter(
      (n) => !this.#members.has(n) || keyText(this.#members.get(n)!) !== keyText(before.get(n)!),
    );
    this.#save?.(this.statements());
    if (local) for (const l of this.#statementListeners) l(s);
    if (removed.length > 0) {
      this.#log.warn({ nodes: removed }, 'mesh nodes removed: their links close and their advertisements are dropped');
      for (const l of this.#changeListeners) l(removed);
    }
  }

  #keep(s: MemberStatement): void {
    const e = entry(s);
    this.#statements.set(statementId(s), e);
    if (s.op === 'admit' && e.by === this.#selfKey) this.#vouched.add(`${s.node}\u0000${e.key}`);
  }

  #recompute(): void {
    const all = [...this.#statements.values()];
    // Removals count when signed by a key trusted ignoring removals (so that a removed node's
    // removals of others still stand: they were made while it was trusted, and cannot be told apart).
    const trustedIgnoringRemovals = this.#closure(all, new Set());
    const revoked = new Set<string>();
    for (const e of all) if (e.s.op === 'remove' && trustedIgnoringRemovals.has(e.by)) revoked.add(e.key);
    revoked.delete(this.#selfKey); // this node goes on trusting itself; the others refuse it
    this.#revoked = revoked;
    const trusted = this.#closure(all, revoked);
    const members = new Map<NodeId, { key: Uint8Array; text: string; at: number }>();
    const bind = (node: NodeId, key: Uint8Array, text: string, at: number) => {
      if (node === this.self || revoked.has(text) || !trusted.has(text)) return;
      const b = members.get(node);
      if (b === undefined || at < b.at || (at === b.at && text < b.text)) members.set(node, { key, text, at });
    };
    for (const { s, key, by } of all) {
      if (s.op !== 'admit' || !trusted.has(by)) continue;
      bind(s.node, s.key, key, s.at);
      // The signer of this node's own admission is known by the id it signs with.
      if (s.node === this.self && key === this.#selfKey) bind(s.from, s.by, by, Number.MAX_SAFE_INTEGER);
    }
    this.#members = new Map([...members].map(([n, b]) => [n, b.key]));
    this.#removedNodes = new Set(
      all.filter((e) => e.s.op === 'remove' && revoked.has(e.key) && !members.has(e.s.node)).map((e) => e.s.node),
    );
  }

  /** Keys trusted from this node's point of view, leaving out `revoked`: a walk over the admissions. */
  #closure(all: readonly Entry[], revoked: ReadonlySet<string>): Set<string> {
    const admittedBy = new Map<string, string[]>();
    const trusted = new Set([this.#selfKey]);
    for (const { s, key, by } of all) {
      if (s.op !== 'admit' || revoked.has(key)) continue;
      if (s.node === this.self && key === this.#selfKey && !revoked.has(by)) trusted.add(by);
      let list = admittedBy.get(by);
      if (list === undefined) admittedBy.set(by, (list = []));
      list.push(key);
    }
    const stack = [...trusted];
    while (stack.length > 0) {
      for (const k of admittedBy.get(stack.pop()!) ?? []) {
        if (trusted.has(k)) continue;
        trusted.add(k);
        stack.push(k);
      }
    }
    return trusted;
  }
}

interface Entry {
  readonly s: MemberStatement;
  readonly key: string;
  readonly by: string;
}

function entry(s: MemberStatement): Entry {
  return { s, key: keyText(s.key), by: keyText(s.by) };
}
