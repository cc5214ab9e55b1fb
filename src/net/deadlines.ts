// Deadlines of many short waits (an HTTP request body's read time, an HTTP call's timeout) on
// one Node timer per delay, instead of a setTimeout and a clearTimeout per request: at tens of
// thousands of requests a second those two cost more than the rest of the request's bookkeeping
// (a Timeout object, async-hook IDs, the loop's clock read through a binding, the timer list).
// Waits of the same delay expire in the order they were armed, so each delay keeps a linked
// list in that order; a wait that ends first unlinks itself at once (memory holds only the
// waits under way), and the one timer is armed for the oldest wait, firing at its deadline.

// Node fires a timer asked for more than 2^31-1 ms after 1 ms: longer delays are re-armed.
const TIMEOUT_MAX = 2 ** 31 - 1;

/** What waits: told once its delay has passed. An object, so a wait needs no closure of its own. */
export interface Expiring {
  expire(): void;
}

/**
 * One wait on a Deadlines list, and that list's node: an object that waits for one delay at a
 * time (a request's body read, a call's timeout) extends it and is armed itself (Deadlines.arm),
 * so a wait costs no object of its own. Its expire() runs once its delay has passed.
 */
export abstract class Wait implements Expiring {
  prev: Wait | undefined = undefined;
  next: Wait | undefined = undefined;
  /** When it is due (performance.now() time), while armed. */
  at = 0;
  #list: DeadlineList | undefined = undefined;

  abstract expire(): void;

  /** Stops waiting: expire() will not run for this arming. Idempotent. */
  stopWaiting(): void {
    this.#list?.unlink(this);
    this.#list = undefined;
  }

  /** Linked into `list`, due at `at` (by the list). */
  armedOn(list: DeadlineList, at: number): void {
    this.#list = list;
    this.at = at;
  }

  /** Unlinked by its list, once due: expires. */
  fire(): void {
    this.#list = undefined;
    this.expire();
  }
}

/** A wait for another object: expires its target at its deadline, unless cancelled before. */
export class Deadline extends Wait {
  readonly #target: Expiring;

  constructor(target: Expiring) {
    super();
    this.#target = target;
  }

  expire(): void {
    this.#target.expire();
  }

  /** The wait is over: it will not expire. Idempotent. */
  cancel(): void {
    this.stopWaiting();
  }
}

/** The waits of one delay, oldest first. */
class DeadlineList {
  readonly #ms: number;
  #head: Wait | undefined = undefined;
  #tail: Wait | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  add(d: Wait): void {
    // A wait armed again while armed is due at its new time only.
    d.stopWaiting();
    d.armedOn(this, performance.now() + this.#ms);
    if (this.#tail === undefined) this.#head = d;
    else {
      this.#tail.next = d;
      d.prev = this.#tail;
    }
    this.#tail = d;
    // A timer still armed for an older wait (even one that ended) fires first and re-arms for
    // the next: no timer call per wait.
    if (this.#timer === undefined) this.#arm(this.#ms);
  }

  unlink(d: Wait): void {
    if (d.prev === undefined) this.#head = d.next;
    else d.prev.next = d.next;
    if (d.next === undefined) this.#tail = d.prev;
    else d.next.prev = d.prev;
    d.prev = undefined;
    d.next = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#fire, Math.min(Math.max(ms, 1), TIMEOUT_MAX));
    // A wait belongs to something that keeps the process alive by itself (a connection).
    this.#timer.unref();
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    for (let d = this.#head; d !== undefined && d.at <= now; d = this.#head) {
      this.unlink(d);
      try {
        d.fire();
      } catch (error) {
        // Still an uncaught error, as in a timer of its own; the other waits expire all the same.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    if (this.#head !== undefined && this.#timer === undefined) this.#arm(this.#head.at - now);
  };
}

/** Waits of any delay; one list (and one timer) per distinct delay in ms. */
export class Deadlines {
  readonly #lists = new Map<number, DeadlineList>();

  /** Calls target.expire() once `ms` have passed, unless the returned wait is cancelled before. */
  after(ms: number, target: Expiring): Deadline {
    const d = new Deadline(target);
    this.arm(d, ms);
    return d;
  }

  /** Calls wait.expire() once `ms` have passed, unless it stops waiting before (again: from now). */
  arm(wait: Wait, ms: number): void {
    let list = this.#lists.get(ms);
    if (list === undefined) {
      list = new DeadlineList(ms);
      this.#lists.set(ms, list);
    }
    list.add(wait);
  }
}
