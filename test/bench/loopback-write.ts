// What one write to a loopback TCP socket costs the writer, by write size: one process writes
// 512 MiB to another (which reads and drops it) in writes of one size, and prints its own user
// and system time per write (/proc via process.cpuUsage). For reading profiles of the mesh's
// links (BENCHMARKS.md, sixteenth session): whether a link's writes cost per write or per octet.
//
//   scripts/node24 test/bench/loopback-write.ts
//
// Not part of the test suite.

import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const TOTAL = 512 * 2 ** 20;
const SIZES = [1024, 4096, 16_384, 32_768, 65_536];

if (process.argv[2] === 'reader') {
  const server = net.createServer((c) => {
    c.on('data', () => undefined);
    c.on('end', () => process.exit(0));
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as net.AddressInfo).port));
} else {
  for (const size of SIZES) {
    const reader = fork(fileURLToPath(import.meta.url), ['reader']);
    const port = await new Promise<number>((resolve) => reader.once('message', (m) => resolve(m as number)));
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    await new Promise((resolve) => socket.once('connect', resolve));
    const chunk = Buffer.alloc(size, 1);
    let sent = 0;
    const before = process.cpuUsage();
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (sent < TOTAL) {
          sent += size;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
        resolve();
      };
      pump();
    });
    const cpu = process.cpuUsage(before);
    const writes = TOTAL / size;
    console.log(
      `${String(size).padStart(6)} octets a write: ${Math.round(performance.now() - t0)} ms; per write ` +
        `user ${(cpu.user / writes).toFixed(2)} µs, system ${(cpu.system / writes).toFixed(2)} µs`,
    );
    socket.end();
    await new Promise((resolve) => reader.once('exit', resolve));
  }
}
