// The RawSocket cases of the socket fuzz (fuzz-sockets.test.ts): mutated handshakes, frame
// headers that lie, frames split across reads, and a model of the framing to tell what the
// router must have made of them.

import type { Serializer } from '../../src/serializers/index.ts';
import type { Rng } from '../helpers/fuzz-input.ts';
import { ALL_ROLES, SERIALIZERS, hex, show } from '../helpers/fuzz-checks.ts';
import { openTcp, type TcpProbe } from '../helpers/raw-client.ts';
import {
  BOUND_MS,
  checkMessage,
  PROBE_ID,
  SOCKET_LENGTH_NIBBLE,
  SOCKET_MAX,
  type SocketTally,
  socketPayload,
} from './fuzz-sockets-common.ts';

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

/** One RawSocket connection to `port`: handshake (sometimes mutated), maybe HELLO, fuzz frames, a probe. */
export async function rawSocketCaseAt(port: number, rng: Rng, s: Serializer, tally: SocketTally): Promise<string[]> {
  const probe = await openTcp(port);
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
