// The footprint floor of Node itself (BENCHMARKS.md, start-up and idle footprint): a script that
// only listens on a TCP port, built into a single executable as the router is
// (`node scripts/build-binary.mjs --entry test/bench/floor/listen.ts --name floor-listen
// --out dist/floor`) and started by test/bench/startup.ts with the router's arguments
// (`serve ... --data DIR`), which it ignores.
import net from 'node:net';
import { settleHeap } from '../../../src/runtime/settle-heap.ts';

const server = net.createServer((socket) => socket.destroy());
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: (server.address() as net.AddressInfo).port })}\n`);
  // As the router does after its listening line.
  setImmediate(settleHeap);
});
