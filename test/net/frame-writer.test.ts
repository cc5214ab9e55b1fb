// FrameWriter (src/net/frame-writer.ts): frames queued in one tick leave in one write, in
// order, with big payloads passed through uncopied; nothing is written to a dead socket.

import net, { type Socket } from 'node:net';
import { once } from 'node:events';
import test from 'ava';
import { FrameWriter } from '../../src/net/frame-writer.ts';

interface Written {
  chunks: Uint8Array[];
  corked: number;
}

function fakeSocket(): { socket: Socket; written: Written; state: { destroyed: boolean; writable: boolean } } {
  const written: Written = { chunks: [], corked: 0 };
  const state = { destroyed: false, writable: true };
  const socket = {
    get destroyed() {
      return state.destroyed;
    },
    get writable() {
      return state.writable;
    },
    write(chunk: Uint8Array) {
      written.chunks.push(chunk);
      return true;
    },
    cork() {
      written.corked++;
    },
    uncork() {
      written.corked--;
    },
  } as unknown as Socket;
  return { socket, written, state };
}

const tick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));
const hex = (chunks: readonly Uint8Array[]): string => Buffer.concat(chunks).toString('hex');

test('frames of one tick go out in one write, each with its header, after the tick', async (t) => {
  const { socket, written } = fakeSocket();
  const writer = new FrameWriter(socket);
  writer.raw(Uint8Array.of(0x7f, 0xf3, 0, 0));
  writer.frame(0, Uint8Array.of(1, 2, 3));
  writer.frame(2, new Uint8Array(0));
  t.is(writer.queuedBytes, 4 + 7 + 4);
  t.is(written.chunks.length, 0, 'nothing before the end of the tick');
  await tick();
  t.is(written.chunks.length, 1);
  t.is(hex(written.chunks), '7ff30000' + '00000003010203' + '02000000');
  t.is(writer.queuedBytes, 0);
});

test('a big payload is written as it is, between the batches of small frames around it', async (t) => {
  const { socket, written } = fakeSocket();
  const writer = new FrameWriter(socket);
  const big = new Uint8Array(100_000).fill(7);
  writer.frame(0, Uint8Array.of(1));
  writer.frame(0, big);
  writer.frame(1, Uint8Array.of(2));
  await tick();
  t.is(written.corked, 0, 'uncorked again');
  // The small frame and the big one's header, the big payload, the last small frame.
  t.is(written.chunks.length, 3);
  t.is(written.chunks[1], big, 'not copied');
  t.is(hex(written.chunks), '0000000101' + '000186a0' + Buffer.from(big).toString('hex') + '0100000102');
});

test('a batch under 64 KiB but over the shared buffer writes its large payloads as they are; one of small frames only is copied whole', async (t) => {
  const { socket, written } = fakeSocket();
  (socket as unknown as { writableLength: number }).writableLength = 0;
  const writer = new FrameWriter(socket);
  // A mesh link's tick: an envelope of 20,000 octets and its 16-octet tag.
  const envelope = new Uint8Array(20_000).fill(9);
  const tag = new Uint8Array(16).fill(4);
  writer.frame(2, envelope);
  writer.frame(4, tag);
  await tick();
  t.is(written.corked, 0, 'uncorked again');
  t.is(written.chunks.length, 3, 'header, envelope, tag frame');
  t.is(written.chunks[1], envelope, 'the envelope is not copied');
  t.is(
    hex(written.chunks),
    '02004e20' + Buffer.from(envelope).toString('hex') + '04000010' + Buffer.from(tag).toString('hex'),
  );

  // 300 frames of 60 octets (19,200 with their headers), none large: one buffer, as before.
  const small = Array.from({ length: 300 }, (_, i) => new Uint8Array(60).fill(i & 0xff));
  for (const payload of small) writer.frame(0, payload);
  await tick();
  t.is(written.chunks.length, 4, 'one more write');
  t.is(written.chunks[3]!.length, 300 * 64);
  t.is(hex(written.chunks.slice(3)), small.map((p) => '0000003c' + Buffer.from(p).toString('hex')).join(''));
});

test('a frame given in parts: one header for them all, small parts copied with the frames around, large ones written as they are', async (t) => {
  const { socket, written } = fakeSocket();
  const writer = new FrameWriter(socket);
  const head = Uint8Array.of(0x85, 0x18, 0x44);
  const payload = new Uint8Array(10_000).fill(5);
  const end = Uint8Array.of(0x5d);
  writer.frame(0, Uint8Array.of(1));
  writer.frameParts(0, [head, payload, end], 10_004);
  writer.frameParts(0, [head, Uint8Array.of(6, 7)], 5);
  t.is(writer.queuedBytes, 5 + 4 + 10_004 + 4 + 5);
  t.is(writer.payloadOctets, 1 + 10_004 + 5);
  await tick();
  t.is(written.corked, 0);
  t.is(written.chunks.length, 3);
  t.is(written.chunks[1], payload, 'the large part is not copied');
  t.is(
    hex(written.chunks),
    '0000000101' + '00002714' + '851844' + Buffer.from(payload).toString('hex') + '5d' + '00000005' + '8518440607',
  );
});

test('flush() writes at once; drop() and a dead socket write nothing', async (t) => {
  const { socket, written, state } = fakeSocket();
  const writer = new FrameWriter(socket);
  writer.frame(0, Uint8Array.of(9));
  writer.flush();
  t.is(hex(written.chunks), '0000000109');
  writer.frame(0, Uint8Array.of(8));
  writer.drop();
  t.is(writer.queuedBytes, 0);
  writer.frame(0, Uint8Array.of(7));
  state.writable = false;
  await tick();
  t.is(hex(written.chunks), '0000000109', 'only the first frame was written');
  t.throws(() => writer.frame(0, new Uint8Array(0x100_0000)), { instanceOf: RangeError });
});

test('payloadOctets: payloads of the frames queued or written, without headers, raw bytes or dropped frames', async (t) => {
  const { socket } = fakeSocket();
  const w = new FrameWriter(socket);
  w.raw(Uint8Array.of(0x7f, 0xf1, 0x00, 0x00));
  w.frame(0, new Uint8Array(10));
  t.is(w.payloadOctets, 10, 'while queued');
  await tick();
  w.frame(0, new Uint8Array(5));
  w.frame(1, new Uint8Array(0));
  t.is(w.payloadOctets, 15);
  w.flush();
  t.is(w.payloadOctets, 15, 'after a flush');
  w.frame(0, new Uint8Array(7));
  w.raw(new Uint8Array(3));
  w.drop();
  t.is(w.payloadOctets, 15, 'what drop() forgot was never sent');
  w.frame(0, new Uint8Array(2));
  await tick();
  t.is(w.payloadOctets, 17);
});

test('afterCallbacks: frames in parts and whole ones, past 64 KiB and 256 frames, arrive intact and in order', async (t) => {
  const { socket, written } = fakeSocket();
  const writer = new FrameWriter(socket, { flush: 'afterCallbacks' });
  const sent: Buffer[] = [];
  // Whole or in parts, small and large: the queue leaves by 64 KiB and by 256 frames on the way.
  const frames: [boolean, number][] = [
    [false, 40_000],
    [true, 30_000],
    ...Array.from({ length: 300 }, (_, i): [boolean, number] => [i % 3 === 0, 20 + (i % 50)]),
    [true, 10_000],
    [false, 300],
  ];
  for (const [i, [inParts, size]] of frames.entries()) {
    const head = Buffer.from([0x85, 0x18, 0x44, i & 0xff]);
    const payload = Buffer.alloc(size, i);
    if (inParts) writer.frameParts(0, [head, payload], head.length + payload.length);
    else writer.frame(0, Buffer.concat([head, payload]));
    sent.push(Buffer.concat([head, payload]));
  }
  t.true(written.chunks.length > 0, 'parts went out while queuing');
  await new Promise((resolve) => setImmediate(resolve));
  const stream = Buffer.concat(written.chunks);
  const got: Buffer[] = [];
  for (let at = 0; at < stream.length; ) {
    const length = stream.readUIntBE(at + 1, 3);
    got.push(stream.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  t.deepEqual(got, sent);
});

test('afterCallbacks: frames queued in separate ticks of one round leave in one write after the round', async (t) => {
  const { socket, written } = fakeSocket();
  const writer = new FrameWriter(socket, { flush: 'afterCallbacks' });
  writer.frame(0, Uint8Array.of(1));
  await tick();
  t.is(written.chunks.length, 0, 'not at the end of the tick that queued it');
  writer.frame(0, Uint8Array.of(2));
  await tick();
  t.is(written.chunks.length, 0);
  await new Promise((resolve) => setImmediate(resolve));
  t.is(hex(written.chunks), '0000000101' + '0000000102');
});

test('afterCallbacks: the queue leaves every 256 frames or 64 KiB while queuing; only less waits for the round', async (t) => {
  const { socket, written } = fakeSocket();
  const writer = new FrameWriter(socket, { flush: 'afterCallbacks' });
  let most = 0;
  for (let i = 0; i < 700; i++) {
    writer.frame(0, new Uint8Array(100));
    most = Math.max(most, writer.queuedBytes);
  }
  t.is(most, 255 * 104, 'at most 255 frames held back');
  t.deepEqual(
    written.chunks.map((c) => c.length),
    [256 * 104, 256 * 104],
    'a receiver gets the first 256 while the rest is made',
  );
  await tick();
  t.is(written.chunks.length, 2, 'the rest waits for the round');
  await new Promise((resolve) => setImmediate(resolve));
  t.is(writer.queuedBytes, 0);
  t.is(Buffer.concat(written.chunks).length, 700 * 104, 'every frame written once');

  // Fewer than 256 larger frames: written by 64 KiB (66 frames of 1004 octets) all the same.
  written.chunks.length = 0;
  for (let i = 0; i < 200; i++) writer.frame(0, new Uint8Array(1000));
  t.is(Buffer.concat(written.chunks).length, 3 * 66 * 1004);
  await new Promise((resolve) => setImmediate(resolve));
  const big = new Uint8Array(100_000);
  writer.frame(0, big);
  t.is(writer.queuedBytes, 0, 'a big frame is not held');
  t.is(written.chunks.at(-1), big, 'and not copied');
});

test('a batch the kernel does not take at once stays intact while other sockets get theirs', async (t) => {
  // Batches are assembled in one buffer shared by all writers, reused while the sockets take
  // them whole; a socket that keeps part of one must keep it unchanged.
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const accepted: Socket[] = [];
  server.on('connection', (s) => accepted.push(s));
  const slowClient = net.connect(port, '127.0.0.1');
  const fastClient = net.connect(port, '127.0.0.1');
  await Promise.all([once(slowClient, 'connect'), once(fastClient, 'connect')]);
  while (accepted.length < 2) await new Promise((resolve) => setImmediate(resolve));
  t.teardown(() => {
    for (const s of [slowClient, fastClient, ...accepted]) s.destroy();
    server.close();
  });
  // Which accepted socket is which: the one whose peer port is the slow client's local port.
  const slow = accepted.find((s) => s.remotePort === slowClient.localPort)!;
  const fast = accepted.find((s) => s.remotePort === fastClient.localPort)!;
  slowClient.pause();
  const slowWriter = new FrameWriter(slow);
  const fastWriter = new FrameWriter(fast);
  const frame = 4000;
  let batches = 0;
  // Batches of 12 KB until one is not taken whole (the slow client's buffers are full).
  while (slow.writableLength === 0 && batches < 10_000) {
    for (let i = 0; i < 3; i++) slowWriter.frame(0, new Uint8Array(frame).fill(0xaa));
    slowWriter.flush();
    batches++;
  }
  t.true(slow.writableLength > 0, 'the slow socket keeps part of a batch');
  for (let i = 0; i < 3; i++) fastWriter.frame(0, new Uint8Array(frame).fill(0x55));
  fastWriter.flush();
  const fastBytes: Buffer[] = [];
  fastClient.on('data', (c: Buffer) => fastBytes.push(c));
  const slowBytes: Buffer[] = [];
  let slowLength = 0;
  const expected = batches * 3 * (4 + frame);
  const done = new Promise<void>((resolve) =>
    slowClient.on('data', (c: Buffer) => {
      slowBytes.push(c);
      slowLength += c.length;
      if (slowLength >= expected) resolve();
    }),
  );
  slowClient.resume();
  await done;
  const all = Buffer.concat(slowBytes);
  t.is(all.length, expected);
  let bad = 0;
  for (let at = 0; at < all.length; at += 4 + frame) {
    if (all.readUInt32BE(at) !== frame) bad++;
    else if (all.subarray(at + 4, at + 4 + frame).some((b) => b !== 0xaa)) bad++;
  }
  t.is(bad, 0, 'every frame to the slow socket as it was queued');
  while (Buffer.concat(fastBytes).length < 3 * (4 + frame)) await new Promise((resolve) => setTimeout(resolve, 5));
  t.true(
    Buffer.concat(fastBytes)
      .subarray(4, 4 + frame)
      .every((b) => b === 0x55),
  );
});
