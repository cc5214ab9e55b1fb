// Registrations and subscriptions keyed by (URI, match policy). The Dealer asks for the one
// best match (spec "Pattern-based Registrations": exact, then longest prefix, then the
// wildcard with the longest concrete runs); the Broker asks for every match.

export type MatchPolicy = 'exact' | 'prefix' | 'wildcard';
export const matchPolicies: readonly MatchPolicy[] = ['exact', 'prefix', 'wildcard'];

interface WildcardEntry<T> {
  readonly parts: readonly string[];
  readonly runs: readonly number[];
  readonly value: T;
}

export class UriTable<T> {
  readonly #exact = new Map<string, T>();
  readonly #prefix = new Map<string, T>();
  readonly #wildcard = new Map<string, WildcardEntry<T>>();

  get size(): number {
    return this.#exact.size + this.#prefix.size + this.#wildcard.size;
  }

  get(uri: string, policy: MatchPolicy): T | undefined {
    if (policy === 'exact') return this.#exact.get(uri);
    if (policy === 'prefix') return this.#prefix.get(uri);
    return this.#wildcard.get(uri)?.value;
  }

  set(uri: string, policy: MatchPolicy, value: T): void {
    if (policy === 'exact') this.#exact.set(uri, value);
    else if (policy === 'prefix') this.#prefix.set(uri, value);
    else {
      const parts = uri.split('.');
      this.#wildcard.set(uri, { parts, runs: concreteRuns(parts), value });
    }
  }

  delete(uri: string, policy: MatchPolicy): void {
    if (policy === 'exact') this.#exact.delete(uri);
    else if (policy === 'prefix') this.#prefix.delete(uri);
    else this.#wildcard.delete(uri);
  }

  /** The single best match for a call. */
  best(uri: string): T | undefined {
    const exact = this.#exact.get(uri);
    if (exact !== undefined) return exact;
    if (this.#prefix.size > 0) {
      let best: T | undefined;
      let bestLength = -1;
      for (const [prefix, value] of this.#prefix) {
        if (prefix.length > bestLength && uri.startsWith(prefix)) {
          best = value;
          bestLength = prefix.length;
        }
      }
      if (best !== undefined) return best;
    }
    if (this.#wildcard.size > 0) {
      const parts = uri.split('.');
      let best: WildcardEntry<T> | undefined;
      for (const entry of this.#wildcard.values()) {
        if (wildcardMatches(entry.parts, parts) && (best === undefined || compareRuns(entry.runs, best.runs) > 0))
          best = entry;
      }
      return best?.value;
    }
    return undefined;
  }

  /** Every match for a publication. */
  all(uri: string, out: T[] = []): T[] {
    const exact = this.#exact.get(uri);
    if (exact !== undefined) out.push(exact);
    for (const [prefix, value] of this.#prefix) if (uri.startsWith(prefix)) out.push(value);
    if (this.#wildcard.size > 0) {
      const parts = uri.split('.');
      for (const entry of this.#wildcard.values()) if (wildcardMatches(entry.parts, parts)) out.push(entry.value);
    }
    return out;
  }

  values(policy: MatchPolicy): IterableIterator<T> | T[] {
    if (policy === 'exact') return this.#exact.values();
    if (policy === 'prefix') return this.#prefix.values();
    return [...this.#wildcard.values()].map((e) => e.value);
  }
}

/** Whether one pattern of the given policy matches a concrete URI (the rule `best` and `all` apply). */
export function uriMatches(pattern: string, policy: MatchPolicy, uri: string): boolean {
  if (policy === 'exact') return pattern === uri;
  if (policy === 'prefix') return uri.startsWith(pattern);
  return wildcardMatches(pattern.split('.'), uri.split('.'));
}

function wildcardMatches(pattern: readonly string[], parts: readonly string[]): boolean {
  if (pattern.length !== parts.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p !== '' && p !== parts[i]) return false;
  }
  return true;
}

// "a1.b2..d4.e5" -> [2, 2]: lengths of the runs of concrete components between wildcards.
function concreteRuns(parts: readonly string[]): number[] {
  const runs: number[] = [];
  let run = 0;
  for (const p of parts) {
    if (p === '') {
      runs.push(run);
      run = 0;
    } else run++;
  }
  runs.push(run);
  return runs;
}

function compareRuns(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
