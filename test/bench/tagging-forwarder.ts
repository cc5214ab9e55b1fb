// A TCP forwarder that also does a mesh link's integrity work (src/mesh/links/integrity.ts), in a
// process of its own: each read is taken as one batch whose tag is checked (its HMAC-SHA256
// computed and compared) before its octets go on, and the same octets are then tagged for the
// next hop, as a middle node checks the batch it reads and tags the one it writes. Nothing is
// parsed or routed and no tag goes on the wire, so this is the least a process in a mesh path
// can do with the tags on: the floor under a mesh hop with them (hop-floor.ts, issue 20).
//
//   scripts/node24 test/bench/tagging-forwarder.ts TARGET_PORT   (prints the port it listens on)

import { createConnection, createServer, type Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { HEADER_SIZE } from '../../src/mesh/links/framing.ts';
import { BatchMac, TAG_SIZE } from '../../src/mesh/links/integrity.ts';

const MESH = 2; // the link frame type the tags cover (framing.ts); any type costs the same here
const target = Number(process.argv[2]);

/** Forwards `from` to `to`, checking and making one tag per read, as a middle node does per batch. */
function forward(from: Socket, to: Socket): void {
  const check = new BatchMac(Buffer.alloc(32, 7));
  const tagger = new BatchMac(Buffer.alloc(32, 9));
  // No tag travels, so the check compares with a fixed one: the same work, its outcome unused.
  const received = Buffer.alloc(TAG_SIZE);
  const types = [MESH];
  const payloads: Uint8Array[] = [];
  from.on('data', (chunk: Buffer) => {
    payloads[0] = chunk;
    const bytes = chunk.length + HEADER_SIZE;
    timingSafeEqual(check.next(types, payloads, 1, bytes), received);
    tagger.next(types, payloads, 1, bytes);
    to.write(chunk);
  });
}

const server = createServer((inbound) => {
  const outbound = createConnection(target, '127.0.0.1');
  inbound.setNoDelay(true);
  outbound.setNoDelay(true);
  forward(inbound, outbound);
  forward(outbound, inbound);
  const end = (): void => {
    inbound.destroy();
    outbound.destroy();
  };
  for (const s of [inbound, outbound]) s.on('error', end).on('close', end);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(typeof address === 'object' && address !== null ? address.port : 0);
});
