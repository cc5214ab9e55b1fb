// The node key and the membership file in the data folder: made once with mode 0600, the same
// key on every later start, refused when others can read it; statements kept across restarts.
// And the origin tag's HMAC, computed by hand, against createHmac.

import test from 'ava';
import crypto from 'node:crypto';
import { PairMac } from '../../src/mesh/routing/origin-identity.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/log.ts';
import { MeshTrust } from '../../src/mesh/trust/membership.ts';
import { keyText, loadOrCreateNodeKey, NODE_KEY_FILE, NodeKey } from '../../src/mesh/trust/node-key.ts';
import { loadStatements, saveStatements } from '../../src/mesh/trust/statement-file.ts';

function dataDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-node-key-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the node key is made on the first start with mode 0600 and is the same on the next', (t) => {
  const dir = dataDir(t);
  const first = loadOrCreateNodeKey(dir);
  const file = path.join(dir, NODE_KEY_FILE);
  t.is(fs.statSync(file).mode & 0o777, 0o600);
  t.is(keyText(loadOrCreateNodeKey(dir).publicKey), keyText(first.publicKey));
  fs.chmodSync(file, 0o644);
  t.throws(() => loadOrCreateNodeKey(dir), { message: /readable by other users.*chmod 600/ });
});

test('membership statements survive a restart; a tampered one is not taken back', (t) => {
  const dir = dataDir(t);
  const file = path.join(dir, 'mesh-members.json');
  const key = NodeKey.generate();
  const peer = NodeKey.generate();
  const trust = new MeshTrust({
    self: 'a',
    key,
    secretJoin: true,
    now: Date.now,
    save: (s) => saveStatements(file, s, silentLogger),
  });
  t.is(trust.admitPeer('b', peer.publicKey), undefined);
  t.is(typeof trust.remove('b'), 'object');
  t.is(fs.statSync(file).mode & 0o777, 0o600);
  const again = new MeshTrust({
    self: 'a',
    key,
    secretJoin: true,
    now: Date.now,
    statements: loadStatements(file, silentLogger),
  });
  t.deepEqual(again.status().removed, ['b']);
  t.like(again.admitPeer('b', peer.publicKey), { code: 'removed' });
  // The removal edited to an admission: its signature no longer holds, so it is dropped.
  const list = JSON.parse(fs.readFileSync(file, 'utf8')) as { op: string }[];
  fs.writeFileSync(file, JSON.stringify(list.map((s) => ({ ...s, op: 'admit' }))));
  const tampered = new MeshTrust({
    self: 'a',
    key,
    secretJoin: false,
    now: Date.now,
    statements: loadStatements(file, silentLogger),
  });
  t.deepEqual(tampered.status().removed, []);
  t.deepEqual(Object.keys(tampered.status().members), ['b'], 'only the untouched admission counts');
});

test('the origin tag is HMAC-SHA256 (truncated to 16 octets), for short, long and non-ASCII texts', (t) => {
  for (const text of [
    '',
    'x',
    JSON.stringify(['A', 'D', 1, 'realm1', 'com.a', 'exact', 7]),
    'ü€😀'.repeat(400),
    'y'.repeat(5000),
  ]) {
    const key = crypto.randomBytes(32);
    const mac = new PairMac(key);
    const expected = crypto.createHmac('sha256', key).update(text, 'utf8').digest().subarray(0, 16);
    t.deepEqual(mac.tag(text), expected);
    t.deepEqual(mac.tag(text), expected, 'again, with the buffer kept from the first');
    // A seal's tag: the text, then octets (event-seal.ts).
    const bytes = crypto.randomBytes(text.length % 300);
    const sealed = crypto.createHmac('sha256', key).update(text, 'utf8').update(bytes).digest().subarray(0, 16);
    t.deepEqual(mac.tagBytes(text, bytes), sealed);
  }
});

test("a call's origin tag is kept per text: the same for the next call, another for another text, past the cache's bound too", (t) => {
  const key = crypto.randomBytes(32);
  const mac = new PairMac(key);
  const hmac = (text: string) => crypto.createHmac('sha256', key).update(text, 'utf8').digest().subarray(0, 16);
  const text = JSON.stringify(['A', 'D', 'realm1', 'com.a', 'exact', 7, [1, 'alice', 'user', true]]);
  const first = mac.cachedTag(text);
  t.deepEqual(first, hmac(text));
  t.is(mac.cachedTag(text), first, 'the tag made for the first call, not made again');
  for (let i = 0; i < 2000; i++) {
    const other = `${text}${i}`;
    t.deepEqual(mac.cachedTag(other), hmac(other));
  }
  t.deepEqual(mac.cachedTag(text), hmac(text));
  const long = text + 'x'.repeat(2000); // not kept, but tagged all the same
  t.deepEqual(mac.cachedTag(long), hmac(long));
  t.not(mac.cachedTag(long), mac.cachedTag(long));
});
