// The WebSocket cases of the socket fuzz (fuzz-sockets.test.ts): mutated messages (some in the
// wrong frame type), and frames with broken headers sent over a hand-made upgrade.

import type { Serializer } from '../../src/serializers/index.ts';
import type { Rng } from '../helpers/fuzz-input.ts';
import { ALL_ROLES, show } from '../helpers/fuzz-checks.ts';
import { connect, maskedFrame, openTcp, within, type Predicate } from '../helpers/raw-client.ts';
import { BOUND_MS, checkMessage, PROBE_ID, type SocketTally, socketPayload } from './fuzz-sockets-common.ts';

/** One WebSocket connection to `wsUrl`: maybe HELLO, fuzz messages (some in the wrong frame type), a probe. */
export async function webSocketCaseAt(wsUrl: string, rng: Rng, s: Serializer, tally: SocketTally): Promise<string[]> {
  const problems: string[] = [];
  const client = await connect({ transport: 'websocket', serializer: s, url: wsUrl, websocketImpl: 'net' });
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
export async function webSocketHeaderCaseAt(
  wsUrl: string,
  rng: Rng,
  s: Serializer,
  tally: SocketTally,
): Promise<string[]> {
  const url = new URL(wsUrl);
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
