// Logins of HTTP requests (src/gateway/identify.ts) taken apart from HTTP: what an anonymous
// request logs in with, made once per realm and address and bounded.

import test from 'ava';
import { AnonymousLogins } from '../../src/gateway/identify.ts';
import type { HttpHead } from '../../src/transport/http-exchange.ts';

const head = (remote: string, local = remote === '127.0.0.1'): HttpHead => ({
  method: 'POST',
  path: '/a/b',
  query: '',
  headers: {},
  remote,
  local,
});

test('an anonymous login is made once per realm and address, and names both', (t) => {
  const logins = new AnonymousLogins();
  const first = logins.get('realm1', head('127.0.0.1'));
  t.deepEqual(first, {
    key: 'anonymous|realm1|127.0.0.1',
    credentials: { kind: 'anonymous' },
    info: { type: 'http', peer: '127.0.0.1', local: true },
  });
  t.is(logins.get('realm1', head('127.0.0.1')), first, 'the same address: the same login');
  t.is(logins.get('realm2', head('127.0.0.1')).key, 'anonymous|realm2|127.0.0.1');
  t.like(logins.get('realm1', head('10.0.0.7')), {
    key: 'anonymous|realm1|10.0.0.7',
    info: { peer: '10.0.0.7', local: false },
  });
  // The transport says what this request's head says, whatever was remembered.
  t.like(logins.get('realm1', head('127.0.0.1', false)), { info: { local: false } });
});

test('anonymous logins remembered are bounded: past 1,024 addresses the memory starts again', (t) => {
  const logins = new AnonymousLogins();
  const first = logins.get('realm1', head('10.0.0.1'));
  for (let i = 2; i <= 1024; i++) logins.get('realm1', head(`10.0.${i >> 8}.${i & 255}`));
  t.is(logins.get('realm1', head('10.0.0.1')), first, 'still remembered at 1,024');
  logins.get('realm1', head('10.9.9.9'));
  const again = logins.get('realm1', head('10.0.0.1'));
  t.not(again, first, 'forgotten once the 1,025th came');
  t.deepEqual(again, first);
});
