// Known-answer tests for the derivations, and the address parsing sources rely on.

import test from 'ava';
import { parseCidr, parsePeer, throttleKey } from '../../src/security/address.ts';
import {
  deriveScram,
  deriveWampcra,
  hashTicket,
  parseTicketHash,
  safeEqual,
  scramAuthMessage,
  verifyScramProof,
  verifyTicket,
  verifyWampcra,
} from '../../src/security/hash.ts';
import { FailureThrottle } from '../../src/security/throttle.ts';

test('SCRAM-SHA-256: the RFC 7677 test vector (also the WAMP-SCRAM spec example)', (t) => {
  const salt = 'W22ZaJ0SNY7soEsUEjb6gQ==';
  const cred = deriveScram('pencil', 'pbkdf2', { iterations: 4096 }, salt);
  const authMessage = scramAuthMessage(
    {
      authid: 'user',
      clientNonce: 'rOprNGfwEbeRWgbNEkqO',
      serverNonce: 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
      salt,
      iterations: 4096,
    },
    'spec',
  );
  t.is(
    authMessage,
    [
      'n=user,r=rOprNGfwEbeRWgbNEkqO',
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    ].join(','),
  );
  t.is(
    verifyScramProof(cred.spec, authMessage, 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='),
    '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  );
  t.is(verifyScramProof(cred.spec, authMessage, 'eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='), undefined);
  t.is(verifyScramProof(cred.spec, authMessage, 'not base64!'), undefined);
});

test('SCRAM names are escaped in the spec dialect only', (t) => {
  const x = { authid: 'a,b=c', clientNonce: 'cn', serverNonce: 'cnsn', salt: 's', iterations: 1 };
  t.true(scramAuthMessage(x, 'spec').startsWith('n=a=2Cb=3Dc,'));
  t.true(scramAuthMessage(x, 'autobahn').startsWith('n=a,b=c,'));
  t.true(scramAuthMessage(x, 'autobahn').endsWith(',c=,r=cnsn'));
});

test('WAMP-CRA: the derived key matches AutobahnJS (CryptoJS) and Autobahn|Python', (t) => {
  // autobahn/lib/auth/cra.js derive_key('secret123', 'salt', 1000, 32)
  const cred = deriveWampcra('secret123', { iterations: 1000, keylen: 32 }, 'salt');
  t.is(cred.key, 'hiOXilNU0icI3i1mKj0YexcXv3oI1aPSWt1fe3pSUMU=');
  t.false(verifyWampcra(cred.key, 'x', ''));
});

test('ticket hashes are salted PHC strings; bad parameters are refused', async (t) => {
  const a = hashTicket('secret', { memory: 64, iterations: 1 });
  const b = hashTicket('secret', { memory: 64, iterations: 1 });
  t.not(a, b, 'a fresh salt each time');
  t.true(await verifyTicket('secret', a));
  t.false(await verifyTicket('Secret', a));
  t.is(
    parseTicketHash(
      '$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ),
    undefined,
    'memory bomb',
  );
  t.false(await verifyTicket('secret', 'plaintext'));
});

test('constant-time compare handles lengths', (t) => {
  t.true(safeEqual(Buffer.from('abc'), Buffer.from('abc')));
  t.false(safeEqual(Buffer.from('abc'), Buffer.from('abd')));
  t.false(safeEqual(Buffer.from('abc'), Buffer.from('abcd')));
});

test('peer addresses and CIDR blocks', (t) => {
  t.deepEqual(parsePeer('unix:/run/wampmesh.sock'), { kind: 'unix' });
  t.deepEqual(parsePeer('10.0.0.1:5000'), { kind: 'ip', family: 'ipv4', address: '10.0.0.1' });
  t.deepEqual(parsePeer('[::1]:5000'), { kind: 'ip', family: 'ipv6', address: '::1' });
  t.deepEqual(parsePeer('::1'), { kind: 'ip', family: 'ipv6', address: '::1' }, 'WebSocket: bare address');
  t.deepEqual(parsePeer('::ffff:192.0.2.1'), { kind: 'ip', family: 'ipv4', address: '192.0.2.1' });
  t.deepEqual(parsePeer('garbage'), { kind: 'unknown' });
  const lo = parseCidr('127.0.0.0/8')!;
  t.true(lo.matches(parsePeer('127.8.9.10:1')));
  t.false(lo.matches(parsePeer('128.0.0.1:1')));
  t.false(lo.matches(parsePeer('unix:/x')));
  t.true(parseCidr('::1/128')!.matches(parsePeer('[::1]:1')));
  t.true(parseCidr('unix')!.matches(parsePeer('unix:/x')));
  t.true(parseCidr('any')!.matches(parsePeer('garbage')));
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '::/129', 'localhost/8', '']) t.is(parseCidr(bad), undefined, bad);
  t.is(throttleKey(parsePeer('[2001:db8::1]:1'), ''), '2001:0db8:0000:0000::/64');
  t.is(throttleKey(parsePeer('10.0.0.1:9'), ''), '10.0.0.1');
});

test('the throttle: a burst, then a steady refill', (t) => {
  let now = 0;
  const th = new FailureThrottle({ burst: 3, refillPerSecond: 1, now: () => now });
  for (let i = 0; i < 3; i++) {
    t.true(th.allowed('a'));
    th.failed('a');
  }
  t.false(th.allowed('a'));
  t.true(th.allowed('b'));
  now += 1000;
  t.true(th.allowed('a'));
  th.failed('a');
  t.false(th.allowed('a'));
  now += 10_000;
  t.true(th.allowed('a'));
  t.is(th.size, 0, 'a refilled bucket is forgotten');
});
