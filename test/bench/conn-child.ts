// A load generator process of the connections benchmark (bench.ts): opens `count` RawSocket/CBOR
// sessions (handshake + HELLO in one write, then wait for WELCOME) with a bounded number of
// handshakes in flight, and keeps them open and idle until told to close. Plain sockets and one
// pre-encoded HELLO: no client library, no per-message decoding.
//
// IPC commands: open {port, count}, close. Prints {"ready": true} once it takes commands.

import net from 'node:net';
import { cbor } from '../../src/serializers/index.ts';
import { serveParent } from './common.ts';

const IN_FLIGHT = 64;
const hello = Buffer.from(
  cbor.encode([1, 'realm1', { roles: { caller: {}, callee: {}, publisher: {}, subscriber: {} } }]),
);
// RawSocket handshake (CBOR, 16 MiB) and the HELLO frame, sent together.
const opening = Buffer.concat([
  Buffer.of(0x7f, 0xf3, 0, 0, 0, (hello.length >> 16) & 0xff, (hello.length >> 8) & 0xff, hello.length & 0xff),
  hello,
]);

let sockets: net.Socket[] = [];

/** Resolves once the router has WELCOMEd the session; rejects on anything else. */
function session(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    let got = Buffer.alloc(0);
    const fail = (why: string): void => {
      socket.destroy();
      reject(new Error(why));
    };
    socket.once('connect', () => socket.write(opening));
    socket.on('error', (e) => fail(e.message));
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 8) return;
      if (got[0] !== 0x7f || (got[1]! & 0x0f) !== 3)
        return fail(`handshake refused: ${got.subarray(0, 4).toString('hex')}`);
      const length = got.readUIntBE(5, 3);
      if (got.length < 8 + length) return;
      // CBOR array, then the message type: 2 is WELCOME.
      if (got[9] !== 0x02) return fail(`no WELCOME: ${got.subarray(8, 40).toString('hex')}`);
      socket.off('data', onData);
      socket.on('data', () => undefined); // idle from here on; the router sends nothing
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

serveParent(async (command) => {
  switch (command.cmd) {
    case 'open': {
      const count = command.count as number;
      const port = command.port as number;
      const t0 = performance.now();
      let next = 0;
      let failed = 0;
      let firstError: string | undefined;
      const worker = async (): Promise<void> => {
        while (next < count) {
          next++;
          try {
            sockets.push(await session(port));
          } catch (error) {
            failed++;
            firstError ??= (error as Error).message;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
      return { opened: sockets.length, failed, firstError, ms: performance.now() - t0 };
    }
    case 'close': {
      const all = sockets;
      sockets = [];
      await Promise.all(
        all.map(
          (s) =>
            new Promise((resolve) => {
              s.once('close', resolve);
              s.destroy();
            }),
        ),
      );
      return { closed: all.length };
    }
    default:
      throw new Error(`unknown command ${String(command.cmd)}`);
  }
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
