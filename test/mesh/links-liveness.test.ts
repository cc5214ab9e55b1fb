// Link liveness: racing dials leave one link, a restarted peer replaces its stale link, and peers
// that stop reading, freeze, stall or die are told apart by the queue bound, heartbeats and TCP.

import test from 'ava';
import { MeshTrust } from '../../src/mesh/trust/membership.ts';
import { fakeDial } from './links-fake-peer.ts';
import { linkedChild } from './links-child-peer.ts';
import { HOST, linkNode, logged, lsa, until } from './links-harness.ts';

test('simultaneous dials both ways leave exactly one link, the same TCP connection at both ends', async (t) => {
  const pairs = await Promise.all(
    Array.from({ length: 4 }, async (_, i) => {
      const a = await linkNode(t, `p${i}-a`, { heartbeatIntervalMs: 50, deadAfterMs: 2000 });
      const b = await linkNode(t, `p${i}-b`, { heartbeatIntervalMs: 50, deadAfterMs: 2000 });
      a.links.setPeerAddress(b.id, { host: HOST, port: b.port });
      b.links.setPeerAddress(a.id, { host: HOST, port: a.port });
      return [a, b] as const;
    }),
  );
  for (const [a, b] of pairs) {
    a.links.connect(b.id);
    b.links.connect(a.id);
  }
  for (const [a, b] of pairs) {
    await until(
      () => [a, b].every((n) => n.links.status().links.length === 1 && n.links.status().handshakes.length === 0),
      3000,
      'one link, no handshakes',
    );
    const [la] = a.links.status().links;
    const [lb] = b.links.status().links;
    t.not(la!.direction, lb!.direction, 'one end dialed, the other accepted: one connection');
    t.is(a.links.send(b.id, lsa(a.id)), 'sent');
    t.is(b.links.send(a.id, lsa(b.id)), 'sent');
  }
  for (const [a, b] of pairs) {
    await until(() => a.rec.frames(b.id).length === 1 && b.rec.frames(a.id).length === 1, 3000, 'frames both ways');
    // Several heartbeats later, still the same single link.
    await until(() => a.links.status().links[0]!.uptimeMs > 300, 3000, 'heartbeats');
    for (const n of [a, b]) {
      t.is(n.links.status().links.length, 1);
      t.is(n.rec.count('down'), 0);
      t.true(n.rec.count('up') >= 1);
    }
  }
  const duplicates = pairs.flat().filter((n) => n.logs.some((l) => l.fields.code === 'duplicate')).length;
  t.true(duplicates > 0, 'the race happened: second connections were closed as duplicates');
});

test('a restarted peer (same id, new process) replaces its stale link at once, whichever id is lower', async (t) => {
  for (const [hubId, peerId] of [
    ['m-hub', 'k-peer'],
    ['a-hub', 'x-peer'],
  ] as const) {
    const hub = await linkNode(t, hubId);
    const old = await linkNode(t, peerId);
    old.links.addSeed(HOST, hub.port);
    await until(() => hub.rec.count('up', peerId) === 1, 3000, 'first link');
    // The "restarted" process: the old one is still there, as a frozen one would be.
    // It keeps its node key (in its data folder): a new key under the same id would be refused.
    const fresh = await linkNode(t, peerId, {
      trust: new MeshTrust({ self: peerId, key: old.links.trust.key, secretJoin: true, now: Date.now }),
    });
    fresh.links.addSeed(HOST, hub.port);
    await until(() => hub.rec.count('up', peerId) === 2, 3000, 'link to the new instance');
    t.deepEqual(
      hub.rec.events.map((e) => e.ev),
      ['up', 'down', 'up'],
      `${hubId}: calls through the old process fail (linkDown), then linkUp`,
    );
    t.is(hub.links.status().links.length, 1);
    await until(() => fresh.links.status().links.length === 1, 3000, 'fresh side up');
    t.is(hub.links.send(peerId, lsa(hubId)), 'sent');
    await until(() => fresh.rec.frames(hubId).length === 1, 3000, 'frame reaches the new instance');
    t.is(old.rec.frames(hubId).length, 0);
  }
});

test('a peer that stops reading: the queue is bounded and the link closes with a log line', async (t) => {
  const a = await linkNode(t, 'A', { maxFrameBytes: 1 << 20, maxQueuedBytes: 4 << 20 });
  const fake = fakeDial(a.port, { node: 'zz-sleepy' });
  t.true(await fake.up);
  await until(() => a.rec.count('up', 'zz-sleepy') === 1, 3000, 'link');
  fake.socket.pause();
  const big = lsa('A', {
    realms: { r: { registrations: [], subscriptions: [{ topic: 'x'.repeat(900_000), match: 'exact' }] } },
  });
  let maxQueued = 0;
  for (let i = 0; i < 500 && a.links.status().links.length > 0; i++) {
    a.links.send('zz-sleepy', big);
    maxQueued = Math.max(maxQueued, a.links.status().links[0]?.queuedBytes ?? 0);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await until(() => a.rec.count('down', 'zz-sleepy') === 1, 3000, 'linkDown');
  t.true(maxQueued <= 4 << 20, `queued at most ${maxQueued}`);
  t.true(logged(a.logs, /not reading/, 'warn'));
});

test('a frozen peer (SIGSTOP) is declared dead within deadAfterMs', async (t) => {
  const p = await linkNode(t, 'P');
  const child = await linkedChild(t, p, 'K');
  await until(() => p.links.status().links[0]?.rttMs !== undefined, 3000, 'heartbeats running');
  child.proc.kill('SIGSTOP');
  const stoppedAt = performance.now();
  await until(() => p.rec.count('down', 'K') === 1, p.links.deadAfterMs + 3000, 'linkDown');
  const elapsed = performance.now() - stoppedAt;
  t.true(
    elapsed >= p.links.deadAfterMs - 1500 && elapsed <= p.links.deadAfterMs + 1500,
    `declared dead after ${Math.round(elapsed)} ms`,
  );
  t.true(p.logs.some((l) => l.fields.code === 'dead' && l.msg === 'mesh link down'));
});

test('a busy peer (event loop blocked for 2 s, deadAfterMs 6 s) is not declared dead, at either end', async (t) => {
  const p = await linkNode(t, 'P');
  const child = await linkedChild(t, p, 'K');
  child.send({ busyMs: 2000 });
  await until(() => child.has('busy-done'), 10_000, 'busy loop done');
  const doneAt = performance.now();
  // Both ends keep the link through a further stretch of heartbeats after the stall.
  await until(
    () => p.rec.count('down') > 0 || child.has('down') || performance.now() - doneAt > 1500,
    5000,
    'post-stall window',
  );
  t.is(p.rec.count('down'), 0);
  t.false(child.has('down'));
  const status = await child.status();
  t.is(status.links.length, 1);
  t.true(status.links[0]!.uptimeMs > 3000);
  t.true(p.links.status().links[0]!.silentMs < 1500);
});

test('a killed peer process is noticed at once (TCP close), not after deadAfterMs', async (t) => {
  const p = await linkNode(t, 'P');
  const child = await linkedChild(t, p, 'K');
  child.proc.kill('SIGKILL');
  const killedAt = performance.now();
  await until(() => p.rec.count('down', 'K') === 1, 3000, 'linkDown');
  const elapsed = performance.now() - killedAt;
  t.true(elapsed < 1000, `noticed after ${Math.round(elapsed)} ms`);
});
