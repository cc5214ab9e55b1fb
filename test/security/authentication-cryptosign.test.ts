// Cryptosign (Ed25519) logins end to end: the key holder gets in with or without an authid,
// every other key fails, and the spec's test vector verifies.

import crypto from 'node:crypto';
import test from 'ava';
import { verifyCryptosign } from '../../src/security/hash.ts';
import { expectFailed, REALM, setup, welcomeDetails } from './authentication-realm.ts';
import { authenticate, cryptosignSign, ed25519Keys, sendHello } from './helpers.ts';

test('cryptosign: the key holder is WELCOMEd, with or without authid, with or without the echoed challenge', async (t) => {
  const w = setup();
  const { privateKey, pubkey } = ed25519Keys();
  w.security.store.createUser(REALM, { authid: 'device-7', groups: ['ops'], pubkeys: [pubkey] });
  for (const [details, withMessage] of [
    [{ authid: 'device-7' }, true],
    [{}, true],
    [{}, false],
  ] as const) {
    const c = w.connect();
    const challenge = sendHello(w, c, REALM, { authmethods: ['cryptosign'], ...details, authextra: { pubkey } });
    t.is(challenge[1], 'cryptosign');
    const extra = challenge[2] as Record<string, unknown>;
    t.regex(extra.challenge as string, /^[0-9a-f]{64}$/);
    t.is(extra.channel_binding, null);
    const welcome = await authenticate(w, c, cryptosignSign(privateKey, extra, withMessage));
    t.like(welcomeDetails(welcome), {
      authid: 'device-7',
      authrole: 'ops',
      authmethod: 'cryptosign',
      authprovider: 'wampmesh',
    });
  }
});

test("cryptosign: a wrong key, an unknown key and another user's key all fail", async (t) => {
  const w = setup();
  const alice = ed25519Keys();
  const bob = ed25519Keys();
  const stranger = ed25519Keys();
  w.security.store.createUser(REALM, { authid: 'alice', pubkeys: [alice.pubkey] });
  w.security.store.createUser(REALM, { authid: 'bob', pubkeys: [bob.pubkey] });
  const cases: [Record<string, unknown>, typeof alice][] = [
    [{ authid: 'alice', authextra: { pubkey: alice.pubkey } }, stranger], // signed with the wrong private key
    [{ authextra: { pubkey: stranger.pubkey } }, stranger], // key unknown to the realm
    [{ authid: 'alice', authextra: { pubkey: bob.pubkey } }, bob], // bob's key, claiming to be alice
  ];
  for (const [details, signer] of cases) {
    const c = w.connect();
    const challenge = sendHello(w, c, REALM, { authmethods: ['cryptosign'], ...details });
    t.is(challenge[0], 4, 'challenged whatever the key');
    expectFailed(
      t,
      await authenticate(w, c, cryptosignSign(signer.privateKey, challenge[2] as Record<string, unknown>)),
    );
  }
});

test('cryptosign: the spec test vector verifies', (t) => {
  // rfc/text/advanced/ap_35_authentication_cryptosign.md, test_vectors_1[1]
  const seed = Buffer.from('d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd', 'hex');
  const challenge = 'b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d';
  const expected =
    'd4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660f' +
    challenge;
  const privateKey = crypto.createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der',
    type: 'pkcs8',
  });
  t.is(cryptosignSign(privateKey, { challenge }), expected);
  const pubkey = Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url').toString(
    'hex',
  );
  t.true(verifyCryptosign(pubkey, Buffer.from(challenge, 'hex'), expected));
  t.false(verifyCryptosign(pubkey, Buffer.from(challenge, 'hex'), expected.replace(/^d4/, 'd5')));
});
