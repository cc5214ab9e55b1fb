// What the authentication tests (test/security/authentication-*.test.ts) start from: a realm
// with the methods under test and two groups, and how a refused login must look.

import type { ExecutionContext } from 'ava';
import { world } from './helpers.ts';

export const REALM = 'com.example';
export const PASSWORD = 'correct horse battery';

export function setup(
  authmethods: string[] = ['ticket', 'wampcra', 'cryptosign', 'wamp-scram', 'anonymous'],
  options: Parameters<typeof world>[0] = {},
) {
  const w = world(options);
  const s = w.security.store;
  s.createRealm({ uri: REALM, authmethods });
  s.createGroup(REALM, { name: 'ops' });
  s.createGroup(REALM, { name: 'staff' });
  return w;
}

export const welcomeDetails = (m: unknown[]) => m[2] as Record<string, unknown>;

export function expectFailed(t: ExecutionContext, m: unknown[], message = 'authentication failed') {
  t.is(m[0], 3, `expected ABORT, got ${JSON.stringify(m)}`);
  t.is(m[2], 'wamp.error.authentication_failed');
  t.deepEqual(m[1], { message });
}
