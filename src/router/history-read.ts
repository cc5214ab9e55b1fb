// One history read over several kept topics: their events merged newest first, each topic read
// newest first in growing batches, so that a read stops where its reader does and a topic
// nobody publishes to any more is found however many newer events other topics have. Both
// stores read through this, so they give the same answers.

import { HISTORY_READ_MAX_ROWS, type TopicPattern } from './history-bounds.ts';

/** A kept event's place in the realm's history: higher is newer (row ID, append sequence). */
export interface Positioned {
  readonly at: number;
}

/** One kept topic's events. */
export interface TopicEvents<R extends Positioned> {
  /** No event of the topic is newer than this (its newest event when it was last appended to). */
  readonly newest: number;
  /** Up to `n` of the topic's events at or before `atMost`, newest first. */
  pull(atMost: number, n: number): readonly R[];
}

interface Head<R extends Positioned> {
  readonly topic: TopicEvents<R>;
  /** Exact position of buffer[next] while there is one, else an upper bound of what is left. */
  key: number;
  buffer: readonly R[];
  next: number;
  batch: number;
  done: boolean;
}

/**
 * What `take` makes of the newest `limit` events it takes (returns other than undefined), among
 * `topics`, newest first, having considered at most HISTORY_READ_MAX_ROWS events. A topic is
 * pulled only when its newest remaining event may be the next in order, 1 event first, then
 * twice as many each time: rows pulled stay within twice those considered plus one per topic.
 */
export function newestFirst<R extends Positioned, T>(
  topics: readonly TopicEvents<R>[],
  limit: number,
  take: (event: R) => T | undefined,
): T[] {
  const heap: Head<R>[] = topics.map((topic) => ({
    topic,
    key: topic.newest,
    buffer: [],
    next: 0,
    batch: 1,
    done: false,
  }));
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
  const out: T[] = [];
  let considered = 0;
  while (heap.length > 0 && out.length < limit && considered < HISTORY_READ_MAX_ROWS) {
    const h = heap[0]!;
    if (h.next < h.buffer.length) {
      const event = h.buffer[h.next++]!;
      considered++;
      const taken = take(event);
      if (taken !== undefined) out.push(taken);
      if (h.next < h.buffer.length) h.key = h.buffer[h.next]!.at;
      else if (h.done) {
        pop(heap);
        continue;
      } else h.key = event.at - 1;
    } else {
      // The key is an upper bound and the highest: the topic's next events come first.
      const n = Math.min(h.batch, HISTORY_READ_MAX_ROWS - considered);
      h.buffer = h.topic.pull(h.key, n);
      h.next = 0;
      h.done = h.buffer.length < n;
      h.batch *= 2;
      if (h.buffer.length === 0) {
        pop(heap);
        continue;
      }
      h.key = h.buffer[0]!.at;
    }
    siftDown(heap, 0);
  }
  return out;
}

/**
 * The start every topic `pattern` matches has: the pattern itself for a prefix or an exact
 * topic, the components before the first wildcard component for a wildcard ('' when it starts
 * with one), so a store reads the candidates of that range only.
 */
export function rangeOf(pattern: TopicPattern): string {
  if (pattern.match !== 'wildcard') return pattern.topic;
  const parts = pattern.topic.split('.');
  const first = parts.indexOf('');
  if (first === -1) return pattern.topic;
  return parts
    .slice(0, first)
    .map((p) => `${p}.`)
    .join('');
}

function pop<R extends Positioned>(heap: Head<R>[]): void {
  const last = heap.pop()!;
  if (heap.length === 0) return;
  heap[0] = last;
  siftDown(heap, 0);
}

function siftDown<R extends Positioned>(heap: Head<R>[], i: number): void {
  const n = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let top = i;
    if (l < n && heap[l]!.key > heap[top]!.key) top = l;
    if (r < n && heap[r]!.key > heap[top]!.key) top = r;
    if (top === i) return;
    [heap[i], heap[top]] = [heap[top]!, heap[i]!];
    i = top;
  }
}
