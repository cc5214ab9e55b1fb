import test from 'ava';
import {
  FrameDecoder,
  FrameType,
  HandshakeErrorCode,
  buildHandshakeError,
  buildHandshakeReply,
  encodeFrame,
  encodeHeader,
  exponentForMaxLength,
  maxLengthFromExponent,
  parseHandshake,
  type FrameEvent,
} from '../../src/transport/rawsocket-framing.ts';

const bytes = (...xs: number[]) => Uint8Array.from(xs);
const text = (s: string) => new TextEncoder().encode(s);
const payloads = (events: FrameEvent[]) =>
  events.map((e) =>
    e.type === 'error' ? `error:${e.error.reason}` : `${e.type}:${new TextDecoder().decode(e.payload)}`,
  );

test('handshake request parses serializer and client maximum', (t) => {
  t.deepEqual(parseHandshake(bytes(0x7f, 0xf1, 0, 0)), { ok: true, serializerId: 1, maxLength: 16 * 1024 * 1024 });
  t.deepEqual(parseHandshake(bytes(0x7f, 0x02, 0, 0)), { ok: true, serializerId: 2, maxLength: 512 });
  // Unknown-but-legal ids are left to the server, which knows what it supports.
  t.deepEqual(parseHandshake(bytes(0x7f, 0x34, 0, 0)), { ok: true, serializerId: 4, maxLength: 4096 });
});

test('handshake errors: bad magic, serializer 0, reserved octets', (t) => {
  t.deepEqual(parseHandshake(bytes(0x47, 0x45, 0x54, 0x20)), { ok: false, badMagic: true });
  t.deepEqual(parseHandshake(bytes(0x7f, 0xf0, 0, 0)), {
    ok: false,
    badMagic: false,
    error: HandshakeErrorCode.SERIALIZER_UNSUPPORTED,
  });
  t.deepEqual(parseHandshake(bytes(0x7f, 0xf1, 0, 1)), {
    ok: false,
    badMagic: false,
    error: HandshakeErrorCode.RESERVED_BITS,
  });
  t.deepEqual(parseHandshake(bytes(0x7f, 0xf1, 1, 0)), {
    ok: false,
    badMagic: false,
    error: HandshakeErrorCode.RESERVED_BITS,
  });
  t.throws(() => parseHandshake(bytes(0x7f, 0xf1)), { instanceOf: RangeError });
});

test('handshake replies', (t) => {
  t.deepEqual(buildHandshakeReply(3, 15), bytes(0x7f, 0xf3, 0, 0));
  t.deepEqual(buildHandshakeReply(1, 7), bytes(0x7f, 0x71, 0, 0));
  t.deepEqual(buildHandshakeError(HandshakeErrorCode.MAX_CONNECTIONS), bytes(0x7f, 0x40, 0, 0));
});

test('max length exponent rounds down to a power of two and caps at 16 MiB', (t) => {
  t.is(exponentForMaxLength(512), 0);
  t.is(exponentForMaxLength(1023), 0);
  t.is(exponentForMaxLength(1024), 1);
  t.is(exponentForMaxLength(16 * 1024 * 1024), 15);
  t.is(exponentForMaxLength(1 << 30), 15);
  t.throws(() => exponentForMaxLength(511), { instanceOf: RangeError });
  t.is(maxLengthFromExponent(0), 512);
  t.is(maxLengthFromExponent(15), 1 << 24);
});

test('header encoding is big-endian 24-bit with the type in the low bits', (t) => {
  t.deepEqual(encodeHeader(FrameType.MESSAGE, 0x123456), bytes(0, 0x12, 0x34, 0x56));
  t.deepEqual(encodeHeader(FrameType.PONG, 1), bytes(2, 0, 0, 1));
  t.throws(() => encodeHeader(FrameType.MESSAGE, 1 << 24), { instanceOf: RangeError });
});

test('many frames in one chunk decode as zero-copy views of the chunk', (t) => {
  const chunk = Buffer.concat([
    encodeFrame(FrameType.MESSAGE, text('one')),
    encodeFrame(FrameType.PING, text('p')),
    encodeFrame(FrameType.MESSAGE, text('')),
    encodeFrame(FrameType.PONG, text('q')),
    encodeFrame(FrameType.MESSAGE, text('three')),
  ]);
  const events = new FrameDecoder(1024).feed(chunk);
  t.deepEqual(payloads(events), ['message:one', 'ping:p', 'message:', 'pong:q', 'message:three']);
  for (const e of events) if (e.type !== 'error') t.is(e.payload.buffer, chunk.buffer);
});

test('every split point of a stream reassembles the same frames', (t) => {
  const stream = Buffer.concat([
    encodeFrame(FrameType.MESSAGE, text('hello')),
    encodeFrame(FrameType.MESSAGE, text('a longer second message')),
    encodeFrame(FrameType.PING, text('')),
  ]);
  const expected = ['message:hello', 'message:a longer second message', 'ping:'];
  // Byte by byte: headers and payloads both straddle chunks.
  const d = new FrameDecoder(1024);
  const all: FrameEvent[] = [];
  for (const b of stream) all.push(...d.feed(bytes(b)));
  t.deepEqual(payloads(all), expected);
  for (let cut = 1; cut < stream.length; cut++) {
    const dec = new FrameDecoder(1024);
    t.deepEqual(
      payloads([...dec.feed(stream.subarray(0, cut)), ...dec.feed(stream.subarray(cut))]),
      expected,
      `cut at ${cut}`,
    );
  }
});

test('a frame spanning chunks is copied into one buffer of its own', (t) => {
  const payload = Buffer.alloc(100_000, 7);
  const stream = Buffer.from(encodeFrame(FrameType.MESSAGE, payload));
  const d = new FrameDecoder(1 << 20);
  const events: FrameEvent[] = [];
  for (let i = 0; i < stream.length; i += 65536) events.push(...d.feed(stream.subarray(i, i + 65536)));
  t.is(events.length, 1);
  const e = events[0];
  if (e?.type !== 'message') return t.fail();
  t.is(e.payload.length, 100_000);
  t.true(Buffer.from(e.payload).equals(payload));
});

test('framing violations fail the decoder for good', (t) => {
  const reserved = new FrameDecoder(1024);
  t.deepEqual(payloads(reserved.feed(bytes(0x08, 0, 0, 0))), ['error:reserved-bits']);
  t.deepEqual(payloads(reserved.feed(encodeFrame(FrameType.MESSAGE, text('x')))), ['error:reserved-bits']);
  t.deepEqual(payloads(new FrameDecoder(1024).feed(bytes(0x03, 0, 0, 0))), ['error:reserved-type']);
  t.deepEqual(payloads(new FrameDecoder(1024).feed(bytes(0x07, 0, 0, 0))), ['error:reserved-type']);
  // The limit is on the declared length: we fail before buffering anything.
  t.deepEqual(payloads(new FrameDecoder(1024).feed(bytes(0x00, 0, 0x04, 0x01))), ['error:too-large']);
  t.deepEqual(payloads(new FrameDecoder(1024).feed(bytes(0x01, 0, 0x04, 0x01))), ['error:too-large']);
  // Frames before the bad one are still delivered.
  const good = encodeFrame(FrameType.MESSAGE, text('ok'));
  t.deepEqual(payloads(new FrameDecoder(1024).feed(Buffer.concat([good, bytes(0x80, 0, 0, 0)]))), [
    'message:ok',
    'error:reserved-bits',
  ]);
});

test('exactly the announced maximum is accepted', (t) => {
  const events = new FrameDecoder(1024).feed(encodeFrame(FrameType.MESSAGE, new Uint8Array(1024)));
  t.is(events.length, 1);
  t.is(events[0]?.type, 'message');
});

test('before lift() the initial limit applies; after it, the announced maximum', (t) => {
  const d = new FrameDecoder(1 << 20, { initialLimit: 1024 });
  t.is(d.limit, 1024);
  t.deepEqual(
    d.feed(encodeFrame(FrameType.MESSAGE, new Uint8Array(1024))).map((e) => e.type),
    ['message'],
  );
  d.lift();
  t.is(d.limit, 1 << 20);
  t.is(d.feed(encodeFrame(FrameType.MESSAGE, new Uint8Array(4096))).length, 1);
  const early = new FrameDecoder(1 << 20, { initialLimit: 1024 });
  const [event] = early.feed(bytes(0x00, 0, 0x04, 0x01));
  t.is(event?.type, 'error');
  if (event?.type === 'error') t.regex(event.error.message, /exceeds the limit before login of 1024/);
});

test('unfinished frames are charged to the budget until complete, lift() or dispose()', (t) => {
  let used = 0;
  const budget = {
    reserve: (n: number) => {
      if (used + n > 1000) return false;
      used += n;
      return true;
    },
    release: (n: number) => {
      used -= n;
    },
  };
  const a = new FrameDecoder(4096, { initialLimit: 4096, budget });
  const frame = encodeFrame(FrameType.MESSAGE, new Uint8Array(600));
  // A frame wholly inside one chunk needs no buffer and costs nothing.
  t.is(a.feed(frame).length, 1);
  t.is(used, 0);
  t.deepEqual(a.feed(frame.subarray(0, 10)), []);
  t.is(used, 600);
  const b = new FrameDecoder(4096, { initialLimit: 4096, budget });
  t.deepEqual(payloads(b.feed(frame.subarray(0, 10))), ['error:over-budget'], 'no room for a second one');
  t.is(used, 600);
  t.is(a.feed(frame.subarray(10)).length, 1, 'completing the frame gives its share back');
  t.is(used, 0);
  a.feed(frame.subarray(0, 10));
  a.dispose();
  t.is(used, 0, 'a connection that ends gives its share back');
  const c = new FrameDecoder(4096, { initialLimit: 4096, budget });
  c.feed(frame.subarray(0, 10));
  c.lift();
  t.is(used, 0, 'a logged-in peer is no longer charged');
  c.feed(frame.subarray(10));
  c.feed(frame.subarray(0, 10));
  t.is(used, 0);
});
