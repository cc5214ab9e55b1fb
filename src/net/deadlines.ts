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

/** One wait: expires its target at its deadline, unless cancelled before. */
export class Deadline {
  prev: Deadline | undefined = undefined;
  next: Deadline | undefined = undefined;
  readonly at: number;
  #list: DeadlineList | undefined;
  readonly #target: Expiring;

  constructor(list: DeadlineList, at: number, target: Expiring) {
    this.#list = list;
    this.at = at;
    this.#target = target;
  }

  /** The wait is over: it will not expire. Idempotent. */
  cancel(): void {
    this.#list?.unlink(this);
    this.#list = undefined;
  }

  /** Unlinked by its list, once due: expires the target. */
  fire(): void {
    this.#list = undefined;
    this.#target.expire();
  }
}

/** The waits of one delay, oldest first. */
class DeadlineList {
  readonly #ms: number;
  #head: Deadline | undefined = undefined;
  #tail: Deadline | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  add(target: Expiring): Deadline {
    const d = new Deadline(this, performance.now() + this.#ms, target);
    if (this.#tail === undefined) this.#head = d;
    else {
      this.#tail.next = d;
      d.prev = this.#tail;
    }
    this.#tail = d;
    // A timer still armed for an older wait (even one that ended) fires first and re-arms for
    // the next: no timer call per wait.
    if (this.#timer === undefined) this.#arm(this.#ms);
    return d;
  }

  unlink(d: Deadline): void {
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
    let list = this.#lists.get(ms);
    if (list === undefined) {
      list = new DeadlineList(ms);
      this.#lists.set(ms, list);
    }
    return list.add(target);
  }
}
