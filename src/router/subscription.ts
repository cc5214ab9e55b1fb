// A subscription (spec "Subscribing and Unsubscribing"): one per topic and match policy, shared
// by all its subscribers, so that one EVENT serves them all.

import type { MatchPolicy } from './uri-table.ts';
import type { Target } from './target.ts';

export interface Subscription {
  readonly id: number;
  readonly topic: string;
  readonly match: MatchPolicy;
  readonly created: number;
  readonly subscribers: Map<number, Target>;
}
