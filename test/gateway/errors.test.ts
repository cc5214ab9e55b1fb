// The gateway's one error table (src/gateway/errors.ts), row by row: each URI's status, the
// headers that must come with it, configured application URIs, and 500 for the rest.

import test from 'ava';
import { errorReply, GatewayErrorUri, STATUS_BY_URI, statusOf } from '../../src/gateway/errors.ts';

const ROWS: [string, number][] = [
  ['wamp.error.invalid_argument', 400],
  ['wamp.error.invalid_uri', 400],
  ['wamp.error.option_not_allowed', 400],
  [GatewayErrorUri.NOT_AUTHENTICATED, 401],
  ['wamp.error.authentication_failed', 401],
  ['wamp.error.no_auth_method', 401],
  ['wamp.error.not_authorized', 403],
  [GatewayErrorUri.NO_SUCH_ROUTE, 404],
  [GatewayErrorUri.METHOD_NOT_ALLOWED, 405],
  [GatewayErrorUri.REQUEST_TIMEOUT, 408],
  [GatewayErrorUri.REPLAYED, 409],
  [GatewayErrorUri.PAYLOAD_TOO_LARGE, 413],
  [GatewayErrorUri.UNSUPPORTED_MEDIA_TYPE, 415],
  [GatewayErrorUri.TOO_MANY_REQUESTS, 429],
  ['wamp.error.network_failure', 502],
  ['wamp.error.payload_size_exceeded', 502],
  [GatewayErrorUri.UNENCODABLE, 502],
  ['wamp.error.canceled', 502],
  ['wamp.error.no_such_procedure', 503],
  ['wamp.error.no_such_realm', 503],
  [GatewayErrorUri.UNAVAILABLE, 503],
  ['wampmesh.error.limit_exceeded', 503],
  [GatewayErrorUri.TIMEOUT, 504],
  ['com.example.error.anything', 500],
];

for (const [uri, status] of ROWS) {
  test(`${uri} -> ${status}`, (t) => {
    const r = errorReply(uri, ['why'], { k: 1 }, { challenge: { realm: 'com.example', auth: ['bearer', 'basic'] } });
    t.is(r.status, status);
    t.deepEqual([r.error, r.args, r.kwargs], [uri, ['why'], { k: 1 }]);
    t.is(r.headers['WWW-Authenticate'] !== undefined, status === 401);
    t.is(r.headers['Retry-After'] !== undefined, status === 429 || status === 503);
  });
}

test('every row of the table is tested above', (t) => {
  const tested = new Set(ROWS.map(([u]) => u));
  t.deepEqual(
    Object.keys(STATUS_BY_URI).filter((u) => !tested.has(u)),
    [],
  );
});

test('401 names the ways in; a refused token says invalid_token (RFC 6750)', (t) => {
  const r = errorReply(
    'wamp.error.authentication_failed',
    [],
    {},
    {
      challenge: { realm: 'com."x"', auth: ['bearer', 'basic', 'anonymous'], bearerError: 'invalid_token' },
    },
  );
  t.is(
    r.headers['WWW-Authenticate'],
    'Bearer realm="com.x", error="invalid_token", Basic realm="com.x", charset="UTF-8"',
  );
});

test('configured application URIs: the route first, then the API; they may override the table', (t) => {
  const route = { 'com.x.gone': 410 };
  const api = { 'com.x.gone': 404, 'com.x.busy': 429, 'wamp.error.no_such_procedure': 404 };
  t.is(statusOf('com.x.gone', [route, api]), 410);
  t.is(statusOf('com.x.busy', [route, api]), 429);
  t.is(statusOf('wamp.error.no_such_procedure', [route, api]), 404);
  t.is(statusOf('com.x.other', [route, api]), 500);
});
