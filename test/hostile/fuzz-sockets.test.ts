// Seeded fuzzing of everything a peer can send: the hand-written hostile suites beside this
// file check the cases someone thought of; this one throws thousands of mutated frames (WAMP
// test vectors and generated messages, broken at the value level and at the byte level) and
// checks the promises that must hold for any input:
//
//  Over real sockets, against the router process (slower, a few hundred frames per
//  transport and serializer): RawSocket with mutated handshakes and frame headers (reserved
//  bits and types, oversized and lying lengths, frames split across reads) and WebSocket (text
//  for JSON, binary for MsgPack/CBOR, some frames of the wrong type or with broken headers);
//  every connection's probe CALL is answered, or the connection ended, within a bound; what the
//  router sends is well-formed; a healthy connection gets a PONG for every PING; the process
//  keeps serving (a fresh client calls through a callee that lived through it all), and its
//  log holds no error and no Node warning.
//
//  The sans-IO core, with thousands of frames: fuzz-core.test.ts.
//
// Seeds are fixed, so runs are reproducible; a failure names the seed, the step and the frame.
// FUZZ_EXTRA_SEEDS=n runs more of them, for a longer hunt on a developer's machine.

import test, { type ExecutionContext } from 'ava';
import type { Serializer } from '../../src/serializers/index.ts';
import { parseMessage, ProtocolViolation } from '../../src/wamp/parse.ts';
import {
  deepBytes,
  exoticBytes,
  mutateBytes,
  mutateValue,
  randomValue,
  Rng,
  vectorFrames,
  withSplicedValue,
} from '../helpers/fuzz-input.ts';
import { ALL_ROLES, SERIALIZERS, ROUTER_TO_CLIENT, EXTRA_SEEDS, hex, show } from '../helpers/fuzz-checks.ts';
import { connect, maskedFrame, openTcp, within, type Predicate, type TcpProbe } from '../helpers/raw-client.ts';
import { servedRouter } from '../helpers/served-router.ts';

// =================================================================================================
// Part 2: over real sockets, against the router process
// =================================================================================================

// Small, so oversized RawSocket lengths are cheap to send and lying ones cheap to complete.
const SOCKET_MAX = 1 << 16;
const SOCKET_LENGTH_NIBBLE = 7; // 2^(9+7) = SOCKET_MAX
/** Every connection must be answered or closed within this. */
const BOUND_MS = 5_000;
const SOCKET_SEED = 0x50c_e7;
/** Per transport and serializer (FUZZ_EXTRA_SEEDS adds ten each for a longer hunt). */
const CONNECTIONS = 60 + 10 * EXTRA_SEEDS;
const PROBE_ID = 2 ** 53 - 7;

const fx = servedRouter(test, { limits: { maxMessageSize: SOCKET_MAX } }, { checkAfterEach: true });

/** Seed frames and their decoded messages, per serializer. */
const corpus = new Map(
  SERIALIZERS.map((s) => {
    const frames = vectorFrames(s);
    const messages = frames.flatMap((f) => {
      try {
        const v = s.decode(f);
        return Array.isArray(v) ? [v] : [];
      } catch {
        return [];
      }
    });
    return [s.name, { frames, messages }] as const;
  }),
);

/**
 * A WAMP payload to throw at a connection: valid, mutated at the value or byte level, deep,
 * exotic. `hostility`: how often it is not a valid message.
 */
function socketPayload(rng: Rng, s: Serializer, hostility = 0.8): Uint8Array {
  const { frames, messages } = corpus.get(s.name)!;
  const valid = (): unknown[] =>
    rng.pick<unknown[]>([
      [48, 1 + rng.int(50), {}, 'probe.echo', [randomValue(rng)]],
      [
        48,
        1 + rng.int(50),
        { receive_progress: true, timeout: rng.pick([1, 50, 2 ** 31, 2 ** 40]) },
        'probe.echo',
        ['x'],
        { k: randomValue(rng) },
      ],
      [16, 1 + rng.int(50), { acknowledge: true, retain: rng.chance(0.3) }, 'com.fuzz.topic', [randomValue(rng)]],
      [32, 1 + rng.int(50), { get_retained: true }, 'com.fuzz.topic'],
      [64, 1 + rng.int(50), {}, `com.fuzz.socket.${rng.int(3)}`],
      [
        48,
        1 + rng.int(50),
        {},
        'wamp.session.add_testament',
        ['com.fuzz.topic', [randomValue(rng)]],
        { publish_options: { retain: true } },
      ],
      [70, 1 + rng.int(5), {}, [randomValue(rng)]],
    ]);
  // The vectors hold every message type (WELCOME, EVENT...): material for mutations.
  const base = (): unknown[] => (rng.chance(0.3) ? rng.pick(messages) : valid());
  const encode = (m: unknown): Uint8Array | undefined => {
    try {
      return s.encode(m as unknown[]);
    } catch {
      return undefined;
    }
  };
  const r = rng.chance(hostility) ? 20 + rng.int(80) : 0;
  const f =
    r < 20
      ? encode(valid())
      : r < 45
        ? encode(mutateValue(rng, base(), [1, 2, 3]))
        : r < 52
          ? withSplicedValue(rng, s, valid(), deepBytes(s.name, rng.pick([100, 1_000, 30_000]), rng.chance(0.5)))
          : r < 65
            ? withSplicedValue(rng, s, valid(), exoticBytes(rng, s.name))
            : undefined;
  return (
    f ??
    mutateBytes(
      rng,
      s.name,
      rng.chance(0.5) ? rng.pick(frames) : (encode(base()) ?? rng.pick(frames)),
      rng.pick(frames),
    )
  );
}

/** Checks one message from the router; a problem as text, or undefined. */
function checkMessage(value: unknown): string | undefined {
  const parsed = parseMessage(value);
  if (parsed instanceof ProtocolViolation)
    return `malformed message from the router (${parsed.message}): ${show(value)}`;
  const code = (value as unknown[])[0] as number;
  return ROUTER_TO_CLIENT.has(code) ? undefined : `the router sent message type ${code}: ${show(value)}`;
}

/** What our model of the router's RawSocket framing makes of the bytes sent after the handshake. */
class FramingModel {
  #header: number[] = [];
  #left = 0;
  #type = 0;
  failed = false;
  readonly pings: Buffer[] = [];
  #ping: number[] = [];

  feed(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (this.failed) return;
      if (this.#left > 0) {
        if (this.#type === 1) this.#ping.push(b);
        if (--this.#left === 0 && this.#type === 1) this.pings.push(Buffer.from(this.#ping));
        continue;
      }
      this.#header.push(b);
      if (this.#header.length < 4) continue;
      const [first, l1, l2, l3] = this.#header as [number, number, number, number];
      this.#header = [];
      const length = (l1 << 16) | (l2 << 8) | l3;
      if ((first & 0xf8) !== 0 || (first & 0x07) > 2 || length > SOCKET_MAX) {
        this.failed = true;
        return;
      }
      this.#type = first & 0x07;
      this.#left = length;
      this.#ping = [];
      if (length === 0 && this.#type === 1) this.pings.push(Buffer.alloc(0));
    }
  }

  /** Zero octets that complete a frame the stream stopped in the middle of. */
  padding(): Uint8Array {
    if (this.failed) return new Uint8Array(0);
    if (this.#header.length > 0) return new Uint8Array(4 - this.#header.length); // a zero header: an empty MESSAGE
    return new Uint8Array(this.#left);
  }
}

const frameOf = (type: number, payload: Uint8Array): Buffer =>
  Buffer.concat([
    Buffer.of(type, (payload.length >>> 16) & 0xff, (payload.length >>> 8) & 0xff, payload.length & 0xff),
    payload,
  ]);

/** Reads the router's side of a RawSocket connection: handshake reply, then frames. */
class RouterStream {
  readonly probe: TcpProbe;
  #at = 0;
  handshake: Buffer | undefined;
  readonly messages: unknown[][] = [];
  readonly pongs: Buffer[] = [];
  readonly problems: string[] = [];
  closed = false;
  /** Set to what the handshake negotiated. */
  serializer: Serializer;
  #wake: (() => void) | undefined;

  constructor(probe: TcpProbe, serializer: Serializer) {
    this.probe = probe;
    this.serializer = serializer;
    probe.socket.on('data', () => this.#read());
    void probe.closed.then(() => {
      this.closed = true;
      this.#read();
    });
  }

  #read(): void {
    const all = this.probe.received();
    if (this.handshake === undefined) {
      if (all.length < 4) return this.#wake?.();
      this.handshake = all.subarray(0, 4);
      this.#at = 4;
    }
    while (this.handshake[1]! & 0x0f && all.length - this.#at >= 4) {
      const type = all[this.#at]!;
      const length = all.readUIntBE(this.#at + 1, 3);
      if (type > 2) {
        this.problems.push(`router frame header 0x${type.toString(16)}`);
        break;
      }
      if (length > 2 ** 24) {
        this.problems.push(`router frame of ${length} octets`);
        break;
      }
      if (all.length - this.#at - 4 < length) break;
      const payload = all.subarray(this.#at + 4, this.#at + 4 + length);
      this.#at += 4 + length;
      if (type === 2) this.pongs.push(Buffer.from(payload));
      else if (type === 1)
        this.problems.push('the router sent a PING'); // it never does
      else {
        try {
          const value = this.serializer.decode(payload);
          const problem = checkMessage(value);
          if (problem !== undefined) this.problems.push(problem);
          this.messages.push(value as unknown[]);
        } catch (error) {
          this.problems.push(
            `router frame the ${this.serializer.name} decoder cannot read (${String(error)}): ${hex(payload)}`,
          );
        }
      }
    }
    this.#wake?.();
  }

  /** Resolves true once `done()` holds (checked as data comes and at close), false after `ms`. */
  until(done: () => boolean, ms = BOUND_MS): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(done());
      }, ms);
      const check = (): void => {
        if (done()) {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve(true);
        }
      };
      this.#wake = check;
      check();
    });
  }
}

interface SocketTally {
  connections: number;
  frames: number;
  aborted: number;
  answered: number;
  closed: number;
  refused: number;
}

/** One RawSocket connection: handshake (sometimes mutated), maybe HELLO, fuzz frames, a probe. */
async function rawSocketCase(rng: Rng, s: Serializer, tally: SocketTally): Promise<string[]> {
  const probe = await openTcp(fx.router.rawsocketPort);
  const stream = new RouterStream(probe, s);
  const problems = stream.problems;
  try {
    tally.connections++;
    // Handshake: mostly ours; sometimes with a bad magic, serializer, length nibble or reserved octets.
    const hs = Buffer.of(0x7f, (rng.int(16) << 4) | s.rawsocketId, 0, 0);
    if (rng.chance(0.25)) {
      const i = rng.int(4);
      hs[i] = rng.chance(0.5) ? rng.int(256) : hs[i]! ^ (1 << rng.int(8));
    }
    // Sometimes dripped, sometimes with the first frames in the same write.
    const pieces = rng.chance(0.3) ? [hs.subarray(0, 1), hs.subarray(1, 3), hs.subarray(3)] : [hs];
    for (const p of pieces) {
      probe.socket.write(p);
      await new Promise((r) => setImmediate(r));
    }
    if (!(await stream.until(() => stream.handshake !== undefined || stream.closed)))
      return [`handshake ${hex(hs)}: no reply and no close within ${BOUND_MS} ms`];
    const serializerId = hs[1]! & 0x0f;
    const expected =
      hs[0] !== 0x7f
        ? 'drop'
        : hs[2] !== 0 || hs[3] !== 0
          ? '7f300000'
          : ![1, 2, 3].includes(serializerId)
            ? '7f100000'
            : 'accept';
    const reply = stream.handshake === undefined ? 'none' : hex(stream.handshake);
    if (
      expected === 'drop'
        ? reply !== 'none'
        : expected === 'accept'
          ? reply !== hex(Buffer.of(0x7f, (SOCKET_LENGTH_NIBBLE << 4) | serializerId, 0, 0))
          : reply !== expected
    ) {
      return [`handshake ${hex(hs)}: expected ${expected}, got ${reply}`];
    }
    if (expected !== 'accept') {
      tally.refused++;
      if (!(await stream.until(() => stream.closed)))
        problems.push(`handshake ${hex(hs)} refused but not closed within ${BOUND_MS} ms`);
      return problems;
    }
    // A mutated handshake may have asked for another serializer: the router speaks that one now.
    s = SERIALIZERS.find((x) => x.rawsocketId === serializerId)!;
    stream.serializer = s;

    const hostility = rng.pick([0.02, 0.1, 0.5, 0.9]);
    const model = new FramingModel();
    const write = (bytes: Uint8Array): void => {
      model.feed(bytes);
      probe.socket.write(bytes);
    };
    if (rng.chance(0.85)) {
      write(frameOf(0, s.encode([1, 'realm1', { roles: ALL_ROLES }])));
      if (!(await stream.until(() => stream.messages.length > 0 || stream.closed)))
        problems.push(`no answer to HELLO within ${BOUND_MS} ms`);
    }
    // The fuzz frames: mostly MESSAGEs, some PINGs and PONGs, some broken headers.
    const chunks: Buffer[] = [];
    for (let n = 1 + rng.int(10); n > 0; n--) {
      tally.frames++;
      const r = rng.chance(hostility) ? rng.int(100) : 0;
      if (r < 75) chunks.push(frameOf(0, socketPayload(rng, s, hostility)));
      else if (r < 83) chunks.push(frameOf(1, rng.bytes(rng.int(40))));
      else if (r < 86) chunks.push(frameOf(2, rng.bytes(rng.int(10))));
      else {
        // A header that lies: reserved bits or types, a length over the maximum, or a
        // length that does not match its payload (the model knows where the stream is).
        const payload = Buffer.from(socketPayload(rng, s));
        const frame = frameOf(0, payload);
        switch (rng.int(5)) {
          case 0:
            frame[0] = rng.pick([0x08, 0x10, 0x80, 0xf8]) | rng.int(3);
            break;
          case 1:
            frame[0] = 3 + rng.int(5);
            break;
          case 2:
            frame.writeUIntBE(SOCKET_MAX + 1 + rng.int(2 ** 24 - SOCKET_MAX - 1), 1, 3);
            break;
          case 3:
            frame.writeUIntBE(Math.max(0, payload.length - 1 - rng.int(8)), 1, 3);
            break;
          default:
            frame.writeUIntBE(Math.min(SOCKET_MAX, payload.length + 1 + rng.int(100)), 1, 3);
        }
        chunks.push(frame);
      }
    }
    const bytes = Buffer.concat(chunks);
    if (rng.chance(0.3)) {
      // Split at random points: frames and headers across reads.
      let at = 0;
      while (at < bytes.length) {
        const n = 1 + rng.int(Math.max(1, Math.min(64, bytes.length - at)));
        write(bytes.subarray(at, at + n));
        at += n;
        await new Promise((r) => setImmediate(r));
      }
    } else {
      write(bytes);
    }
    // Complete whatever frame the stream stopped in, then probe: the router must answer it
    // (RESULT or ERROR), or have ended the session (ABORT) or the connection.
    const padding = model.padding();
    if (padding.length > 0) write(padding);
    if (!model.failed) write(frameOf(0, s.encode([48, PROBE_ID, {}, 'probe.echo', ['probe']])));
    const answered = (): boolean =>
      stream.messages.some((m) => (m[0] === 50 && m[1] === PROBE_ID) || (m[0] === 8 && m[2] === PROBE_ID));
    const aborted = (): boolean => stream.messages.some((m) => m[0] === 3);
    if (!(await stream.until(() => stream.closed || answered() || aborted()))) {
      problems.push(
        `${model.failed ? 'framing error' : 'probe CALL'} neither answered nor closed within ${BOUND_MS} ms (got ${show(stream.messages.slice(-3))})`,
      );
    }
    if (aborted()) {
      tally.aborted++;
      if (!(await stream.until(() => stream.closed))) problems.push(`ABORT but no close within ${BOUND_MS} ms`);
    } else if (answered()) {
      tally.answered++;
      // A healthy connection lost nothing: every PING got its PONG, in order.
      if (
        !(await stream.until(() => stream.pongs.length >= model.pings.length || stream.closed, 1_000)) ||
        !model.pings.every((p, i) => stream.pongs[i]?.equals(p))
      ) {
        problems.push(
          `PONGs ${show(stream.pongs.map((p) => hex(p)))} for PINGs ${show(model.pings.map((p) => hex(p)))}`,
        );
      }
    }
    if (stream.closed) tally.closed++;
    if (model.failed && !stream.closed) problems.push('a broken frame header did not fail the connection');
    return problems;
  } finally {
    probe.socket.destroy();
    await probe.closed;
  }
}

/** One WebSocket connection: maybe HELLO, fuzz messages (some in the wrong frame type), a probe. */
async function webSocketCase(rng: Rng, s: Serializer, tally: SocketTally): Promise<string[]> {
  const problems: string[] = [];
  const client = await connect({ transport: 'websocket', serializer: s, url: fx.router.wsUrl, websocketImpl: 'net' });
  const seen: unknown[][] = [];
  const wait = async (predicate: Predicate): Promise<unknown[] | 'closed' | 'timeout' | 'undecodable'> => {
    try {
      const m = await client.next(predicate, BOUND_MS);
      seen.push(m);
      return m;
    } catch (error) {
      const text = String(error);
      if (/could not decode|non-list/.test(text)) {
        problems.push(text);
        return 'undecodable';
      }
      return client.isClosed ? 'closed' : 'timeout';
    }
  };
  try {
    tally.connections++;
    if (rng.chance(0.85)) {
      client.send([1, 'realm1', { roles: ALL_ROLES }]);
      if ((await wait((m) => m[0] === 2 || m[0] === 3)) === 'timeout')
        problems.push(`no answer to HELLO within ${BOUND_MS} ms`);
    }
    const hostility = rng.pick([0.02, 0.1, 0.5, 0.9]);
    for (let n = 1 + rng.int(10); n > 0 && !client.isClosed; n--) {
      tally.frames++;
      const payload = socketPayload(rng, s, hostility);
      if (rng.chance(0.02))
        client.sendRaw(payload, !s.binary); // the wrong frame type: closed 1003
      else client.sendFrame(payload);
    }
    if (!client.isClosed) client.send([48, PROBE_ID, {}, 'probe.echo', ['probe']]);
    const outcome = await wait(
      (m) => m[0] === 3 || (m[0] === 50 && m[1] === PROBE_ID) || (m[0] === 8 && m[2] === PROBE_ID),
    );
    if (outcome === 'timeout')
      problems.push(
        `probe CALL neither answered nor closed within ${BOUND_MS} ms (inbox ${show(client.inbox.slice(-3))})`,
      );
    if (Array.isArray(outcome) && outcome[0] === 3) {
      tally.aborted++;
      await within(client.closed, BOUND_MS, 'close after ABORT').catch(() =>
        problems.push(`ABORT but no close within ${BOUND_MS} ms`),
      );
    } else if (Array.isArray(outcome)) {
      tally.answered++;
    }
    if (client.isClosed) tally.closed++;
    for (const m of [...seen, ...client.inbox]) {
      const problem = checkMessage(m);
      if (problem !== undefined) problems.push(problem);
    }
    return problems;
  } finally {
    await client.destroy();
  }
}

/** A WebSocket frame with a broken header (RSV bits, reserved opcodes, unmasked, bad control frames), then a valid HELLO. */
async function webSocketHeaderCase(rng: Rng, s: Serializer, tally: SocketTally): Promise<string[]> {
  const url = new URL(fx.router.wsUrl);
  const probe = await openTcp(Number(url.port));
  try {
    tally.connections++;
    probe.socket.write(
      `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${Buffer.from(rng.bytes(16)).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${s.subprotocol}\r\n\r\n`,
    );
    const head = await within(
      new Promise<number>((resolve) => {
        const check = (): void => {
          const at = probe.received().indexOf('\r\n\r\n');
          if (at >= 0) resolve(at + 4);
        };
        probe.socket.on('data', check);
        check();
      }),
      BOUND_MS,
      'upgrade',
    );
    if (!probe.received().subarray(0, 12).toString().startsWith('HTTP/1.1 101'))
      return [`upgrade refused: ${probe.received().toString().slice(0, 80)}`];
    const opcode = s.binary ? 0x2 : 0x1;
    const frame = maskedFrame(opcode, socketPayload(rng, s));
    switch (rng.int(6)) {
      case 0:
        frame[0] = frame[0]! | rng.pick([0x40, 0x20, 0x10]);
        break; // RSV1..3 without an extension
      case 1:
        frame[0] = 0x80 | rng.pick([0x3, 0x7, 0xb, 0xf]);
        break; // reserved opcodes
      case 2:
        frame[0] = rng.pick([0x00, 0x80]);
        break; // continuation with nothing to continue
      case 3:
        frame[0] = opcode;
        break; // no FIN, and the next frame starts a new message
      case 4:
        frame[1] = frame[1]! & 0x7f;
        break; // not masked: clients must mask
      default:
        frame[0] = 0x80 | rng.pick([0x8, 0x9, 0xa]); // control frames carrying a payload of any size
    }
    tally.frames++;
    probe.socket.write(frame);
    probe.socket.write(maskedFrame(opcode, s.encode([1, 'realm1', { roles: ALL_ROLES }])));
    // Answered (a close frame, a WELCOME or ABORT, a PONG) or closed: not left hanging.
    const answered = await within(
      new Promise<boolean>((resolve) => {
        const check = (): void => {
          if (probe.received().length > head) resolve(true);
        };
        probe.socket.on('data', check);
        void probe.closed.then(() => resolve(true));
        check();
      }),
      BOUND_MS,
      'answer',
    ).catch(() => false);
    if (answered) tally.answered++;
    return answered
      ? []
      : [
          `broken frame header 0x${frame.subarray(0, 2).toString('hex')}: neither answered nor closed within ${BOUND_MS} ms`,
        ];
  } finally {
    probe.socket.destroy();
    await probe.closed;
  }
}

/** Lines of the router's log since `before` (an earlier stderr()) that say something went wrong inside it. */
function badLogLines(before: string): string[] {
  const now = fx.router.stderr();
  const fresh = now.startsWith(before) ? now.slice(before.length) : now;
  return fresh.split('\n').filter((line) => {
    if (line.trim() === '') return false;
    try {
      const level = (JSON.parse(line) as { level?: unknown }).level;
      return level === 'error' || level === 'fatal';
    } catch {
      return true; // not a log line: a Node warning (TimeoutOverflowWarning...) or a stack trace
    }
  });
}

async function runSocketFuzz(
  t: ExecutionContext,
  name: string,
  seed: number,
  one: (rng: Rng, tally: SocketTally) => Promise<string[]>,
  connections: number,
): Promise<void> {
  const started = performance.now();
  const log = fx.router.stderr();
  const rng = new Rng(seed);
  const tally: SocketTally = { connections: 0, frames: 0, aborted: 0, answered: 0, closed: 0, refused: 0 };
  for (let i = 0; i < connections; i++) {
    const caseSeed = rng.int(2 ** 32);
    const problems = await one(new Rng(caseSeed), tally);
    for (const p of problems)
      t.fail(`${name} seed 0x${seed.toString(16)} case ${i} (seed 0x${caseSeed.toString(16)}): ${p}`);
    if (problems.length > 0) break;
    if (i % 8 === 7) await fx.service.assertServing();
  }
  await fx.service.assertServing();
  const bad = badLogLines(log);
  if (bad.length > 0) t.fail(`${name}: the router logged:\n  ${bad.slice(0, 5).join('\n  ').slice(0, 3000)}`);
  t.log(`${name}: ${show(tally)} in ${Math.round(performance.now() - started)} ms`);
  t.pass();
}

for (const [i, s] of SERIALIZERS.entries()) {
  test.serial(
    `rawsocket/${s.name}: mutated handshakes, headers and frames are answered or closed in time; the router keeps serving`,
    async (t) => {
      await runSocketFuzz(
        t,
        `rawsocket/${s.name}`,
        SOCKET_SEED + i,
        (rng, tally) => rawSocketCase(rng, s, tally),
        CONNECTIONS,
      );
    },
  );
  test.serial(
    `websocket/${s.name}: mutated messages are answered or closed in time; the router keeps serving`,
    async (t) => {
      await runSocketFuzz(
        t,
        `websocket/${s.name}`,
        SOCKET_SEED + 16 + i,
        (rng, tally) => webSocketCase(rng, s, tally),
        CONNECTIONS,
      );
    },
  );
  test.serial(`websocket/${s.name}: broken frame headers are answered or closed in time`, async (t) => {
    await runSocketFuzz(
      t,
      `websocket-header/${s.name}`,
      SOCKET_SEED + 32 + i,
      (rng, tally) => webSocketHeaderCase(rng, s, tally),
      8,
    );
  });
}
