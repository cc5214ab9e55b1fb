// What the core fuzz (fuzz-core-harness.ts) learns from each message the router sends a fuzzed
// session: the IDs it may use next (so its frames reach deeper than an unknown ID's error) and
// the counts a seed reports.

import { type CorePeer, type FuzzSession, remember } from './fuzz-core-peer.ts';

export interface Observed {
  readonly sessions: readonly FuzzSession[];
  readonly stats: Record<'aborts' | 'results' | 'errors' | 'events' | 'invocations' | 'welcomes', number>;
}

/** Keeps the fuzz sessions' ID lists current, and the seed's counts, from a message the router sent `peer`. */
export function observe(fuzz: Observed, peer: CorePeer, m: unknown[]): void {
  const code = m[0];
  if (code === 3) fuzz.stats.aborts++;
  if (code === 50) fuzz.stats.results++;
  if (code === 8) fuzz.stats.errors++;
  if (code === 36) fuzz.stats.events++;
  if (code === 68) fuzz.stats.invocations++;
  const s = fuzz.sessions.find((x) => x.peer === peer);
  if (s === undefined) return;
  switch (code) {
    case 2:
      s.welcomed = true;
      fuzz.stats.welcomes++;
      remember(s.ids, m[1]);
      break;
    case 65:
      remember(s.registrations, m[2]);
      remember(s.ids, m[2]);
      break;
    case 33:
      remember(s.subscriptions, m[2]);
      remember(s.ids, m[2]);
      break;
    case 68:
      remember(s.invocations, m[1]);
      remember(s.ids, m[2]);
      break;
    case 36:
      remember(s.ids, m[2]);
      break;
    default:
      break;
  }
}
