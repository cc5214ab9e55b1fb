// The Dealer's registrations (spec "Registrations", "Shared Registration", "Pattern-based
// Registrations"): the table of procedures, the registration IDs, each session's registrations,
// and the invocation policy that picks a registration's callee for a call. The rules of
// REGISTER and UNREGISTER, and the meta events, are the Dealer's (dealer.ts).

import { IdSequence } from '../wamp/ids.ts';
import type { Target } from './target.ts';
import { UriTable, type MatchPolicy } from './uri-table.ts';

export const invokePolicies = ['single', 'roundrobin', 'random', 'first', 'last'] as const;
export type InvokePolicy = (typeof invokePolicies)[number];

export interface Registration {
  readonly id: number;
  readonly procedure: string;
  readonly match: MatchPolicy;
  readonly invoke: InvokePolicy;
  readonly created: number;
  /** In order of registration (spec: roundrobin/first/last are defined on that order). */
  readonly callees: Target[];
  next: number;
}

export class Registrations {
  readonly #table = new UriTable<Registration>();
  readonly #byId = new Map<number, Registration>();
  readonly #bySession = new Map<number, Set<Registration>>();
  readonly #ids = new IdSequence();
  readonly #now: () => number;
  readonly #random: () => number;

  constructor(clock: { now: () => number; random: () => number }) {
    this.#now = clock.now;
    this.#random = clock.random;
  }

  get size(): number {
    return this.#byId.size;
  }
  values(): IterableIterator<Registration> {
    return this.#byId.values();
  }
  byId(id: number): Registration | undefined {
    return this.#byId.get(id);
  }
  get(procedure: string, match: MatchPolicy): Registration | undefined {
    return this.#table.get(procedure, match);
  }
  best(procedure: string): Registration | undefined {
    return this.#table.best(procedure);
  }

  /** How many registrations the session serves. */
  countOf(session: Target): number {
    return this.#bySession.get(session.id)?.size ?? 0;
  }

  /** The registrations the session serves (a copy: detaching them while iterating is fine). */
  of(session: Target): Registration[] {
    const mine = this.#bySession.get(session.id);
    return mine === undefined ? [] : [...mine];
  }

  /** Adds the callee to the registration of (procedure, match), creating it if needed. */
  attach(procedure: string, match: MatchPolicy, invoke: InvokePolicy, callee: Target): Registration {
    let registration = this.#table.get(procedure, match);
    if (registration !== undefined) registration.callees.push(callee);
    else {
      registration = {
        id: this.#ids.next(),
        procedure,
        match,
        invoke,
        created: this.#now(),
        callees: [callee],
        next: 0,
      };
      this.#table.set(procedure, match, registration);
      this.#byId.set(registration.id, registration);
    }
    let mine = this.#bySession.get(callee.id);
    if (mine === undefined) this.#bySession.set(callee.id, (mine = new Set<Registration>()));
    mine.add(registration);
    return registration;
  }

  /** Removes the callee from the registration; true when that was its last callee. */
  detach(callee: Target, registration: Registration): boolean {
    const i = registration.callees.indexOf(callee);
    if (i >= 0) {
      registration.callees.splice(i, 1);
      if (registration.next > i) registration.next--;
    }
    const mine = this.#bySession.get(callee.id);
    mine?.delete(registration);
    if (mine !== undefined && mine.size === 0) this.#bySession.delete(callee.id);
    return registration.callees.length === 0;
  }

  /** Removes a registration left without callees. */
  delete(registration: Registration): void {
    this.#byId.delete(registration.id);
    this.#table.delete(registration.procedure, registration.match);
  }

  /** The callee for the next call, by the registration's invocation policy. */
  pick(registration: Registration): Target {
    const callees = registration.callees;
    switch (registration.invoke) {
      case 'roundrobin': {
        const callee = callees[registration.next % callees.length]!;
        registration.next = (registration.next + 1) % callees.length;
        return callee;
      }
      case 'random':
        return callees[Math.floor(this.#random() * callees.length)]!;
      case 'last':
        return callees[callees.length - 1]!;
      default:
        return callees[0]!;
    }
  }
}
