// IdTable (src/router/id-table.ts): the table of open calls by WAMP ID, a ring of slots with a
// Map beside it for the keys whose slot is taken. Checked against a Map doing the same
// operations: keys that count up (what it is made for), keys that collide in the ring, random
// session IDs up to 2^53, negative and fractional keys, and growth while some keys sit beside the ring.

import test from 'ava';
import { IdTable, SpareTables } from '../../src/router/id-table.ts';

/** A seeded generator (mulberry32), so that a failure is the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function same(
  t: import('ava').ExecutionContext,
  table: IdTable<string>,
  map: Map<number, string>,
  keys: number[],
): void {
  t.is(table.size, map.size, 'size');
  for (const key of keys) {
    if (table.get(key) !== map.get(key) || table.has(key) !== map.has(key)) {
      t.fail(`key ${key}: ${table.get(key)} in the table, ${map.get(key)} in the map`);
      return;
    }
  }
  const entries = [...table.entries()].sort((a, b) => a[0] - b[0]);
  t.deepEqual(
    entries,
    [...map].sort((a, b) => a[0] - b[0]),
    'entries',
  );
  t.deepEqual([...table.values()].sort(), [...map.values()].sort(), 'values');
}

test('keys counting up, a window of them open: as a Map', (t) => {
  const table = new IdTable<string>();
  const map = new Map<number, string>();
  const keys: number[] = [];
  for (let id = 1; id <= 5000; id++) {
    table.set(id, `v${id}`);
    map.set(id, `v${id}`);
    keys.push(id);
    if (id > 300) {
      t.is(table.delete(id - 300), true);
      map.delete(id - 300);
    }
  }
  t.is(table.delete(1), false, 'a key deleted before is not there');
  same(t, table, map, keys);
});

test('keys that share a slot, deleted and set again in every order: as a Map', (t) => {
  const next = random(7);
  const table = new IdTable<string>();
  const map = new Map<number, string>();
  // Few distinct keys, all equal modulo 8 and 64: most of them sit beside the ring.
  const keys = Array.from({ length: 40 }, (_, i) => 3 + i * 64);
  keys.push(-5, -5 + 4096, 0, 2 ** 53 - 1, 2 ** 40 + 3, 1.5, 3.25);
  for (let step = 0; step < 20_000; step++) {
    const key = keys[Math.floor(next() * keys.length)]!;
    const r = next();
    if (r < 0.5) {
      table.set(key, `v${step}`);
      map.set(key, `v${step}`);
    } else t.is(table.delete(key), map.delete(key), `delete ${key} at step ${step}`);
    if (table.get(key) !== map.get(key)) {
      t.fail(`key ${key} at step ${step}`);
      return;
    }
  }
  same(t, table, map, keys);
});

test('random session IDs up to 2^53, through growth to the largest ring and past it: as a Map', (t) => {
  const next = random(11);
  const table = new IdTable<string>();
  const map = new Map<number, string>();
  const keys: number[] = [];
  for (let i = 0; i < 6000; i++) {
    const key = Math.floor(next() * 2 ** 53) + 1;
    keys.push(key);
    table.set(key, `v${i}`);
    map.set(key, `v${i}`);
    if (i % 3 === 2) {
      const gone = keys[Math.floor(next() * keys.length)]!;
      t.is(table.delete(gone), map.delete(gone));
    }
  }
  same(t, table, map, keys);
  for (const key of keys) {
    table.delete(key);
    map.delete(key);
  }
  same(t, table, map, keys);
  t.is(table.size, 0);
});

test('spare tables: the ones kept are handed out again, up to the number given, then new ones', (t) => {
  const spares = new SpareTables<string>(2);
  const [a, b, c] = [new IdTable<string>(), new IdTable<string>(), new IdTable<string>()];
  for (const table of [a, b, c]) spares.keep(table);
  const taken = [spares.take(), spares.take(), spares.take()];
  t.true(taken.includes(a) && taken.includes(b), 'the first two kept come back');
  t.false(taken.includes(c), 'the third was not kept');
  t.is(taken[2]!.size, 0);
});
