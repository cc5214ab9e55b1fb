// Publications to one large subscription, delivered together: a burst (a publisher's PUBLISHes
// read in one go) reaches each subscriber in one visit, not one walk over all subscribers per
// publication (deferred-fanout.ts says when; BENCHMARKS.md, issue 23, scaling, says why).

import { errorFields, type Logger } from '../log.ts';
import { deferFanout, drainFanouts } from './deferred-fanout.ts';
import type { SharedFrame } from './shared-frame.ts';
import type { Subscription } from './subscription.ts';

// From this many subscribers, a burst of publications to a subscription is delivered once for
// the burst; below it the walk is short enough to stay in the cache.
export const DEFERRED_FANOUT_FROM = 256;

/** Publications to one subscription waiting to be delivered together, in order. */
interface Burst {
  readonly subscription: Subscription;
  readonly excluded: number | undefined;
  readonly frames: SharedFrame[];
}

/** A broker's open burst: at most one, delivered before anything routed after it. */
export class EventBursts {
  readonly #logger: Logger | undefined;
  #burst: Burst | undefined;
  readonly #drain = (): void => this.#deliver();

  constructor(logger: Logger | undefined) {
    this.#logger = logger;
  }

  /** `frame` for the subscribers of `subscription` but `excluded`, after everything routed before it. */
  add(subscription: Subscription, excluded: number | undefined, frame: SharedFrame): void {
    const burst = this.#burst;
    // Another subscription's event, or another publisher's exclusion, goes after this burst.
    if (burst !== undefined && (burst.subscription !== subscription || burst.excluded !== excluded)) drainFanouts();
    if (this.#burst === undefined) {
      this.#burst = { subscription, excluded, frames: [] };
      deferFanout(this.#drain);
    }
    this.#burst!.frames.push(frame);
  }

  /** The deferred burst: each subscriber gets all its EVENTs in one visit. */
  #deliver(): void {
    const burst = this.#burst;
    if (burst === undefined) return;
    this.#burst = undefined;
    const { frames, excluded } = burst;
    try {
      for (const subscriber of burst.subscription.subscribers.values()) {
        if (subscriber.id === excluded) continue;
        for (let i = 0; i < frames.length; i++) subscriber.sendShared(frames[i]!);
      }
    } catch (err) {
      // Delivered from a microtask, where a throw would end the process: logged as a bug, as
      // the session logs a throw while handling a message.
      this.#logger?.error(errorFields(err), 'internal error delivering events');
    }
  }
}
