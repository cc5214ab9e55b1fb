// The config file's `oauth2` section: defaults, and mistakes named by their field.

import test from 'ava';
import { ConfigError, parseConfig } from '../../src/config/config.ts';

const problem = (oauth2: unknown): string => {
  try {
    parseConfig({ oauth2 }, 'test.json');
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  return 'accepted';
};

test('defaults: no realm; a listed realm gets every grant and the documented lifetimes', (t) => {
  t.deepEqual(parseConfig({}, 'x').oauth2, { realms: [] });
  t.deepEqual(parseConfig({ oauth2: { realms: [{ realm: 'com.app' }] } }, 'x').oauth2.realms[0], {
    realm: 'com.app',
    grants: ['password', 'client_credentials', 'refresh_token'],
    accessTokenTtlSec: 900,
    refreshTokenTtlSec: 2_592_000,
    issuer: 'wampmesh',
    maxRefreshFamiliesPerUser: 25,
    leewaySec: 30,
  });
});

test('mistakes are named by their field', (t) => {
  t.is(problem({ realms: [{ realm: 'bad uri' }] }), 'test.json: oauth2.realms[0].realm: expected a realm URI');
  t.is(
    problem({ realms: [{ realm: 'a', grants: ['implicit'] }] }),
    'test.json: oauth2.realms[0].grants[0]: expected one of password, client_credentials, refresh_token',
  );
  t.is(
    problem({ realms: [{ realm: 'a', grants: [] }] }),
    'test.json: oauth2.realms[0].grants: expected at least one grant type',
  );
  t.is(
    problem({ realms: [{ realm: 'a', accessTokenTtlSec: 5 }] }),
    'test.json: oauth2.realms[0].accessTokenTtlSec: expected integer 10..86400',
  );
  t.is(
    problem({ realms: [{ realm: 'a', audience: '' }] }),
    'test.json: oauth2.realms[0].audience: expected a non-empty string',
  );
  t.is(problem({ realms: [{ realm: 'a' }, { realm: 'a' }] }), 'test.json: oauth2.realms[1].realm: realm listed twice');
  t.is(problem({ realms: [{ realm: 'a', ttl: 5 }] }), 'test.json: oauth2.realms[0].ttl: unknown field');
  t.is(problem({ clients: [] }), 'test.json: oauth2.clients: unknown field');
});
