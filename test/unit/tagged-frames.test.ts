// TaggedFrameWriter (src/mesh/links/tagged-frames.ts) over a real TCP connection: the mesh frames
// of one tick leave as one MESH frame (one envelope), closed before any other frame so the order
// holds, split at the size limit, and each tick's batch ends in one TAG that the receiving side
// checks.

import net from 'node:net';
import test from 'ava';
import { decodeEnvelope, encodeFrame } from '../../src/mesh/links/envelope.ts';
import { HEADER_SIZE, LinkFrameDecoder, LinkFrameType } from '../../src/mesh/links/framing.ts';
import { BATCH_BYTES, SEAL_BYTES } from '../../src/mesh/links/integrity.ts';
import { TaggedFrameReader, TaggedFrameWriter } from '../../src/mesh/links/tagged-frames.ts';
import type { MeshFrame } from '../../src/mesh/routing/frames.ts';

const KEY = Buffer.alloc(32, 7);
const ack = (r: number): MeshFrame => ({ t: 'ack', r, c: 0 });

async function pair(): Promise<{ sender: net.Socket; receiver: net.Socket; close(): void }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const sender = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => sender.once('connect', resolve));
  const receiver = await accepted;
  return {
    sender,
    receiver,
    close: () => {
      sender.destroy();
      receiver.destroy();
      server.close();
    },
  };
}

/** The link frames the receiver gets until `count` have come (or 5 s pass). */
function collect(receiver: net.Socket, count: number): Promise<{ type: number; payload: Uint8Array }[]> {
  const frames: { type: number; payload: Uint8Array }[] = [];
  const decoder = new LinkFrameDecoder(1 << 20);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${frames.length} of ${count} frames`)), 5_000);
    receiver.on('data', (chunk: Buffer) => {
      decoder.feed(chunk, (type, payload) => {
        frames.push({ type, payload: Buffer.from(payload) });
        return true;
      });
      if (frames.length >= count) {
        clearTimeout(timer);
        resolve(frames);
      }
    });
  });
}

test('the mesh frames of one tick leave as one envelope, before any later frame, and the batch is tagged once', async (t) => {
  const { sender, receiver, close } = await pair();
  try {
    const writer = new TaggedFrameWriter(sender);
    writer.startTagging(KEY);
    const got = collect(receiver, 4);
    for (const r of [1, 2, 3]) t.true(writer.meshFrame(encodeFrame(ack(r)), 1 << 20));
    // Another frame in the same tick closes the open envelope first; what follows opens another.
    t.true(writer.frame(LinkFrameType.PING, Buffer.from('ping')));
    t.true(writer.meshFrame(encodeFrame(ack(4)), 1 << 20));
    const frames = await got;
    t.deepEqual(
      frames.map((f) => f.type),
      [LinkFrameType.MESH, LinkFrameType.PING, LinkFrameType.MESH, LinkFrameType.TAG],
      'one batch per tick: one TAG',
    );
    t.deepEqual(decodeEnvelope(frames[0]!.payload), [ack(1), ack(2), ack(3)]);
    t.deepEqual(decodeEnvelope(frames[2]!.payload), [ack(4)]);
    const reader = new TaggedFrameReader(KEY);
    for (const f of frames.slice(0, 3)) t.is(reader.hold(f.type as LinkFrameType, f.payload, 1 << 20), undefined);
    t.notThrows(() => {
      const batch = reader.check(frames[3]!.payload);
      if (typeof batch === 'string') throw new Error(batch);
    });
  } finally {
    close();
  }
});

test('an envelope is closed before it would pass the size limit', async (t) => {
  const { sender, receiver, close } = await pair();
  try {
    const writer = new TaggedFrameWriter(sender);
    const items = [1, 2, 3, 4, 5].map((r) =>
      encodeFrame({ ...ack(r), x: Array.from({ length: 20 }, (_, i) => i) } as MeshFrame),
    );
    const limit = items[0]!.length * 2 + 3;
    const got = collect(receiver, 3);
    for (const item of items) writer.meshFrame(item, limit);
    const frames = await got;
    t.deepEqual(
      frames.map((f) => (decodeEnvelope(f.payload) as MeshFrame[]).map((m) => (m as { r: number }).r)),
      [[1, 2], [3, 4], [5]],
    );
    for (const f of frames) t.true(f.payload.length <= limit);
  } finally {
    close();
  }
});

test('envelopes a socket could not take at once stay intact while later ticks send theirs', async (t) => {
  // A tick's envelopes are joined into buffers the writer reuses once the kernel took the
  // tick's writes whole; those of a tick it did not take must not be written over.
  const { sender, receiver, close } = await pair();
  t.teardown(close);
  receiver.pause();
  const writer = new TaggedFrameWriter(sender);
  writer.startTagging(KEY);
  const filler = 'x'.repeat(5000);
  const item = (r: number): Uint8Array => encodeFrame({ ...ack(r), x: filler } as unknown as MeshFrame);
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  // Over 64 KiB a tick, so the envelopes go to the socket as they are (not copied into a batch).
  const PER_TICK = 20;
  let r = 0;
  let ticks = 0;
  let full = -1;
  while (ticks < 5000 && (full < 0 || ticks < full + 20)) {
    for (let i = 0; i < PER_TICK; i++) t.true(writer.meshFrame(item(++r), 64 * 1024));
    await tick();
    ticks++;
    if (full < 0 && sender.writableLength > 0) full = ticks;
  }
  t.true(full > 0, 'the socket kept part of a tick');
  const decoder = new LinkFrameDecoder(1 << 20);
  const reader = new TaggedFrameReader(KEY);
  const seen: number[] = [];
  let failed: string | undefined;
  await new Promise<void>((resolve) => {
    receiver.on('data', (chunk: Buffer) => {
      decoder.feed(chunk, (type, payload) => {
        if (type !== LinkFrameType.TAG) {
          reader.hold(type as LinkFrameType, Buffer.from(payload), 1 << 20);
          return true;
        }
        const batch = reader.check(payload);
        if (typeof batch === 'string') failed ??= batch;
        else
          for (const p of batch.payloads)
            for (const f of decodeEnvelope(p) as MeshFrame[]) seen.push((f as { r: number }).r);
        return true;
      });
      if (seen.length >= r || failed !== undefined) resolve();
    });
    receiver.resume();
  });
  t.is(failed, undefined, 'every batch passes its integrity check');
  t.deepEqual(
    seen,
    Array.from({ length: r }, (_, i) => i + 1),
    'every frame once, in order, as written',
  );
});

test('a busy tick is tagged in batches of at most SEAL_BYTES (32 KiB), each checked on its own', async (t) => {
  // The receiver acts on none of a batch before its tag: smaller batches let the next router on a
  // path start sooner.
  t.is(SEAL_BYTES, 32 * 1024);
  const { sender, receiver, close } = await pair();
  t.teardown(close);
  const writer = new TaggedFrameWriter(sender);
  writer.startTagging(KEY);
  const filler = 'x'.repeat(1000);
  // About three and a half batches' worth, in one tick.
  const COUNT = Math.ceil((3.5 * SEAL_BYTES) / 1030);
  // Four batches: each an envelope and its TAG.
  const got = collect(receiver, 8);
  for (let r = 1; r <= COUNT; r++)
    t.true(writer.meshFrame(encodeFrame({ ...ack(r), x: filler } as unknown as MeshFrame), 1 << 20));
  const frames = await got;
  const reader = new TaggedFrameReader(KEY);
  const seen: number[] = [];
  let batches = 0;
  let held = 0;
  for (const f of frames) {
    if (f.type !== LinkFrameType.TAG) {
      t.is(reader.hold(f.type as LinkFrameType, f.payload, 1 << 20), undefined);
      held += HEADER_SIZE + f.payload.length;
      continue;
    }
    t.true(held <= SEAL_BYTES, `a batch of ${held} octets`);
    const batch = reader.check(f.payload);
    if (typeof batch === 'string') return t.fail(batch);
    batches++;
    held = 0;
    for (const p of batch.payloads) for (const m of decodeEnvelope(p) as MeshFrame[]) seen.push((m as { r: number }).r);
  }
  t.is(batches, 4, `${COUNT} frames of ~1 KB in one tick`);
  t.deepEqual(
    seen,
    Array.from({ length: COUNT }, (_, i) => i + 1),
  );
});

test('a receiver takes a batch as large as an earlier build sealed (64 KiB), and refuses one past it', (t) => {
  t.is(BATCH_BYTES, 64 * 1024);
  const reader = new TaggedFrameReader(KEY);
  const frame = Buffer.alloc(4096 - HEADER_SIZE);
  for (let i = 0; i < BATCH_BYTES / 4096; i++) t.is(reader.hold(LinkFrameType.MESH, frame, 4096), undefined);
  // One frame more is what a sender may add past its seal size: still taken.
  t.is(reader.hold(LinkFrameType.MESH, frame, 4096), undefined);
  const refused = reader.hold(LinkFrameType.MESH, frame, 4096);
  t.regex(refused ?? '', /octets of frames without a tag \(a batch holds at most \d+\)/);
});

test('a full batch is written at once, before the tick ends; untagged (TLS), every SEAL_BYTES the same way', async (t) => {
  // So the next router on a path starts on it while this one handles the rest of its read.
  const filler = 'x'.repeat(1000);
  const item = (r: number): Uint8Array => encodeFrame({ ...ack(r), x: filler } as unknown as MeshFrame);
  for (const tagged of [true, false]) {
    const { sender, receiver, close } = await pair();
    t.teardown(close);
    const writer = new TaggedFrameWriter(sender);
    if (tagged) writer.startTagging(KEY);
    const written: number[] = [];
    let r = 0;
    // Two and a half batches' worth, in one tick: what the socket was handed after each frame.
    while (r < Math.ceil((2.5 * SEAL_BYTES) / 1030)) {
      t.true(writer.meshFrame(item(++r), 1 << 20));
      written.push(sender.bytesWritten);
    }
    const early = written.at(-1)!;
    t.true(
      early >= 2 * (SEAL_BYTES - 2 * 1030),
      `${tagged ? 'tagged' : 'untagged'}: ${early} octets written before the tick ended`,
    );
    t.true(early <= 2 * SEAL_BYTES + 2 * 20, 'no more than two batches and their tags');
    const got = collect(receiver, tagged ? 6 : 3);
    const frames = await got;
    const types = frames.map((f) => f.type);
    t.deepEqual(
      types,
      tagged
        ? [
            LinkFrameType.MESH,
            LinkFrameType.TAG,
            LinkFrameType.MESH,
            LinkFrameType.TAG,
            LinkFrameType.MESH,
            LinkFrameType.TAG,
          ]
        : [LinkFrameType.MESH, LinkFrameType.MESH, LinkFrameType.MESH],
    );
    const seen = frames
      .filter((f) => f.type === LinkFrameType.MESH)
      .flatMap((f) => (decodeEnvelope(f.payload) as MeshFrame[]).map((m) => (m as { r: number }).r));
    t.deepEqual(
      seen,
      Array.from({ length: r }, (_, i) => i + 1),
    );
  }
});
