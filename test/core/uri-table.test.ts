import test from 'ava';
import { UriTable, type MatchPolicy } from '../../src/router/uri-table.ts';

test('the spec example for calls matching several registrations', (t) => {
  const table = new UriTable<number>();
  const regs: [string, MatchPolicy][] = [
    ['a1.b2.c3.d4.e55', 'exact'],
    ['a1.b2.c3', 'prefix'],
    ['a1.b2.c3.d4', 'prefix'],
    ['a1.b2..d4.e5', 'wildcard'],
    ['a1.b2.c33..e5', 'wildcard'],
    ['a1.b2..d4.e5..g7', 'wildcard'],
    ['a1.b2..d4..f6.g7', 'wildcard'],
  ];
  regs.forEach(([uri, policy], i) => table.set(uri, policy, i + 1));
  t.is(table.best('a1.b2.c3.d4.e55'), 1);
  t.is(table.best('a1.b2.c3.d98.e74'), 2);
  t.is(table.best('a1.b2.c3.d4.e325'), 3);
  t.is(table.best('a1.b2.c55.d4.e5'), 4);
  // The spec's example says 'no prefix match' here, but its normative text (and its own
  // 'myobject1-mysubobject1' example) make prefix matching a string prefix, and 'a1.b2.c33...'
  // starts with 'a1.b2.c3'. We follow the normative text, as Crossbar does.
  t.is(table.best('a1.b2.c33.d4.e5'), 2);
  table.delete('a1.b2.c3', 'prefix');
  t.is(table.best('a1.b2.c33.d4.e5'), 5, 'without the prefix registration the longest wildcard run wins');
  t.is(table.best('a1.b2.c88.d4.e5.f6.g7'), 6);
  t.is(table.best('a2.b2.c2.d2.e2'), undefined);
});

test('prefix matching is on the string, as in the spec examples', (t) => {
  const table = new UriTable<string>();
  table.set('com.myapp.myobject1', 'prefix', 'p');
  for (const hit of ['com.myapp.myobject1.myprocedure1', 'com.myapp.myobject1-mysubobject1', 'com.myapp.myobject1'])
    t.is(table.best(hit), 'p', hit);
  for (const miss of ['com.myapp.myobject2', 'com.myapp.myobject']) t.is(table.best(miss), undefined, miss);
});

test('all() returns every matching entry', (t) => {
  const table = new UriTable<string>();
  table.set('a.b.c', 'exact', 'e');
  table.set('a.b', 'prefix', 'p');
  table.set('a..c', 'wildcard', 'w');
  table.set('x', 'prefix', 'no');
  t.deepEqual(table.all('a.b.c').sort(), ['e', 'p', 'w']);
  table.delete('a..c', 'wildcard');
  t.deepEqual(table.all('a.b.c').sort(), ['e', 'p']);
});
