// Regressions the admin API fuzz (test/security/admin-fuzz.test.ts) found, each pinned on one
// call so that it stays fixed whatever the fuzz's seeds happen to reach.

import test from 'ava';
import type { Serializer } from '../../src/serializers/index.ts';
import { ADMIN_REALM, MAX_RECORD_ID } from '../../src/security/index.ts';
import { SERIALIZERS } from '../helpers/fuzz-checks.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { ADMIN_PEER } from './admin-fuzz-harness.ts';
import { world } from './helpers.ts';

/** An admin session in `serializer`, on a fresh world: call() returns the answer. */
function adminVia(serializer: Serializer) {
  const w = world();
  const c = new MemoryClient(w.router, serializer, ADMIN_PEER);
  c.send([1, ADMIN_REALM, { roles: { caller: {} }, authmethods: ['trust'], authid: 'admin' }]);
  if (c.take()[0]?.[0] !== 2) throw new Error('the administrator did not join');
  let request = 0;
  const call = (procedure: string, args: unknown[]) => {
    c.send([48, ++request, {}, procedure, args]);
    return c.take();
  };
  call('wampmesh.realm.create', [{ uri: 'com.x', authmethods: ['ticket', 'wampcra'] }]);
  return { w, call };
}

const refusal = (answer: unknown[][]) => {
  const m = answer[0] ?? [];
  return { uri: m[4], message: (m[5] as unknown[] | undefined)?.[0] };
};

test('regression: meta holding a wide integer (a BigInt after decoding) is refused, not an internal error', (t) => {
  const { w, call } = adminVia(SERIALIZERS.find((s) => s.name === 'msgpack')!);
  // zod went on to the 64 KiB check after isJson failed, and JSON.stringify threw on the BigInt.
  t.deepEqual(refusal(call('wampmesh.user.create', ['com.x', { authid: 'bob', meta: { n: 2n ** 63n } }])), {
    uri: 'wamp.error.invalid_argument',
    message: 'meta: must hold only JSON values (strings, numbers, booleans, null, lists, objects)',
  });
  t.deepEqual(w.security.store.listUsers('com.x'), []);
  w.close();
});

test('regression: WAMP-CRA credentials whose key is not base64 are refused, not an internal error', (t) => {
  const { w, call } = adminVia(SERIALIZERS[0]!);
  const credentials = { wampcra: { salt: 'c2FsdA==', iterations: 1000, keylen: 32, key: 'not base64!' } };
  t.deepEqual(refusal(call('wampmesh.user.create', ['com.x', { authid: 'bob', credentials }])), {
    uri: 'wamp.error.invalid_argument',
    message: 'credentials.wampcra.key: expected base64 of 16..64 bytes',
  });
  w.close();
});

test('regression: grant and source ids stay exact numbers, so the export always imports', (t) => {
  const { w, call } = adminVia(SERIALIZERS[0]!);
  const grant = { permissions: ['call'], uri: 'com.x.a', to: ['all'] };
  const source = { cidr: '10.0.0.0/8', authmethods: ['ticket'], to: ['all'] };
  // An id at Number.MAX_SAFE_INTEGER made SQLite number the next grant 2^53.
  t.is(
    refusal(call('wampmesh.grant.create', ['com.x', { ...grant, id: Number.MAX_SAFE_INTEGER }])).uri,
    'wamp.error.invalid_argument',
  );
  t.is(call('wampmesh.grant.create', ['com.x', { ...grant, id: MAX_RECORD_ID }])[0]?.[0], 50);
  t.is(call('wampmesh.source.create', ['com.x', { ...source, id: MAX_RECORD_ID }])[0]?.[0], 50);
  const before = w.security.store.exportDocument();
  // Past the top no id is left to assign: refused, nothing written; an explicit one still works.
  t.deepEqual(refusal(call('wampmesh.grant.create', ['com.x', grant])), {
    uri: 'wamp.error.invalid_argument',
    message: `id: no grant id is left after the largest one used (at most ${MAX_RECORD_ID}); give an unused id explicitly`,
  });
  t.is(refusal(call('wampmesh.source.create', ['com.x', source])).uri, 'wamp.error.invalid_argument');
  t.deepEqual(w.security.store.exportDocument(), before);
  t.is(call('wampmesh.grant.create', ['com.x', { ...grant, id: 7 }])[0]?.[0], 50);
  const doc = w.security.store.exportDocument();
  t.notThrows(() => w.security.store.importDocument(doc));
  t.deepEqual(w.security.store.exportDocument(), doc);
  w.close();
});

test('regression: strings the store could not give back as they came are refused', (t) => {
  const json = adminVia(SERIALIZERS.find((s) => s.name === 'json')!);
  // A lone surrogate (only JSON can carry one) was stored as U+FFFD: another name than the one
  // returned. The JSON decoder reads it as U+FFFD now (serializers/well-formed.ts), so the name
  // stored is the name that came, and the one given back.
  t.is(json.call('wampmesh.group.create', ['com.x', { name: 'g\ud800' }])[0]?.[0], 50);
  const groups = json.w.security.store
    .exportDocument()
    .realms.flatMap((r) => r.groups ?? [])
    .map((g) => g.name);
  t.true(groups.includes('g\ufffd'), groups.join());
  json.call('wampmesh.realm.create', [{ uri: 'com.\udfff', authmethods: ['ticket'] }]);
  t.false([...json.w.router.realms.keys()].some((uri) => !uri.isWellFormed()));
  json.w.close();
  // A leading NUL (only MsgPack and CBOR can carry one) reached the JSON admin CLI as bytes.
  const cbor = adminVia(SERIALIZERS.find((s) => s.name === 'cbor')!);
  t.deepEqual(refusal(cbor.call('wampmesh.realm.update', ['com.x', { description: '\0admin' }])), {
    uri: 'wamp.error.invalid_argument',
    message: 'description: must not start with a NUL character (JSON peers would receive bytes)',
  });
  t.is(
    refusal(cbor.call('wampmesh.group.create', ['com.x', { name: 'g', meta: { note: '\0AAAA' } }])).uri,
    'wamp.error.invalid_argument',
  );
  cbor.w.close();
});
