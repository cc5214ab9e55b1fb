// TaggedFrameWriter (src/mesh/links/tagged-frames.ts) over a real TCP connection: the mesh frames
// of one tick leave as one MESH frame (one envelope), closed before any other frame so the order
// holds, split at the size limit, and each tick's batch ends in one TAG that the receiving side
// checks.

import net from 'node:net';
import test from 'ava';
import { decodeEnvelope, encodeFrame } from '../../src/mesh/links/envelope.ts';
import { LinkFrameDecoder, LinkFrameType } from '../../src/mesh/links/framing.ts';
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
