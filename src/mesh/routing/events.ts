// Events across the mesh. A publication made here goes to the nodes with a matching
// subscription (every node, for a retained one: each keeps it for later subscribers), along the
// shortest-path tree: one copy per next hop, each carrying the destinations behind that hop.
// Copies are de-duplicated by (origin, publication).

import type { EventRouting } from '../../router/broker.ts';
import type { StoredEvent } from '../../router/event-store.ts';
import type { Federation } from '../../router/federation.ts';
import type { Subscribers } from './advertise.ts';
import type { EventFrame, NodeId } from './frames.ts';
import type { LinkDriver } from './link-driver.ts';

export interface EventContext {
  readonly self: NodeId;
  readonly driver: LinkDriver;
  readonly federation: Federation;
  /** Next hop per reachable node. */
  routes(): ReadonlyMap<NodeId, NodeId>;
  /** How many (origin, publication) pairs are remembered for de-duplication. */
  readonly dedupEntries: number;
}

export class EventSpreader {
  readonly #ctx: EventContext;
  readonly #seen = new Set<string>();
  #subscribers: Subscribers = new Map();

  constructor(ctx: EventContext) {
    this.#ctx = ctx;
  }

  /** Who subscribes to what, as the reachable nodes advertise it. */
  set subscribers(subscribers: Subscribers) {
    this.#subscribers = subscribers;
  }

  /** An event frame from a neighbour: delivered here if this node is a destination, spread on. */
  receive(frame: EventFrame): undefined {
    const self = this.#ctx.self;
    const k = eventKey(frame.src, frame.publication);
    if (this.#seen.has(k)) return undefined;
    this.#remember(k);
    if (frame.dsts.includes(self)) {
      const event: StoredEvent = {
        topic: frame.topic,
        publication: frame.publication,
        timestamp: frame.timestamp,
        details: frame.details,
        ...(frame.args !== undefined && { args: frame.args }),
        ...(frame.kwargs !== undefined && { kwargs: frame.kwargs }),
        ...(frame.filter !== undefined && { filter: frame.filter }),
      };
      this.#ctx.federation.event(frame.realm, event, {
        excluded: frame.excluded,
        filter: frame.filter,
        retain: frame.retain,
      });
    }
    this.#spread(
      frame,
      frame.dsts.filter((d) => d !== self),
    );
    return undefined;
  }

  /** A publication made here (after its delivery here). */
  publish(realm: string, event: StoredEvent, routing: EventRouting): void {
    const { excluded, filter, retain } = routing;
    const self = this.#ctx.self;
    const routes = this.#ctx.routes();
    let dsts: NodeId[];
    if (retain) {
      // Retained events are kept by every node, so a subscriber anywhere gets them later.
      dsts = [...routes.keys()];
    } else {
      const nodes = new Set<NodeId>();
      for (const set of this.#subscribers.get(realm)?.all(event.topic) ?? []) for (const n of set) nodes.add(n);
      dsts = [...nodes];
    }
    if (dsts.length === 0) return;
    this.#remember(eventKey(self, event.publication));
    this.#spread(
      {
        t: 'event',
        src: self,
        dsts,
        realm,
        topic: event.topic,
        publication: event.publication,
        timestamp: event.timestamp,
        details: event.details,
        retain,
        ...(event.args !== undefined && { args: event.args }),
        ...(event.kwargs !== undefined && { kwargs: event.kwargs }),
        ...(excluded !== undefined && { excluded }),
        ...(filter !== undefined && { filter }),
      },
      dsts,
    );
  }

  /** Sends one copy per next hop, each carrying the destinations behind that hop. */
  #spread(frame: EventFrame, dsts: readonly NodeId[]): void {
    const routes = this.#ctx.routes();
    const byHop = new Map<NodeId, NodeId[]>();
    for (const d of dsts) {
      const hop = routes.get(d);
      if (hop === undefined) continue;
      let list = byHop.get(hop);
      if (list === undefined) byHop.set(hop, (list = []));
      list.push(d);
    }
    for (const [hop, list] of byHop) this.#ctx.driver.send(hop, { ...frame, dsts: list });
  }

  #remember(k: string): void {
    this.#seen.add(k);
    if (this.#seen.size > this.#ctx.dedupEntries) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }
}

// The publication first: a node ID is another router's string and may hold the separator.
function eventKey(origin: NodeId, publication: number): string {
  return `${publication}\u0000${origin}`;
}
