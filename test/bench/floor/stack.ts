// The footprint floor of the decided stack (BENCHMARKS.md, start-up and idle footprint): Node,
// uWebSockets.js listening for WebSocket, a TCP listener as RawSocket's, and better-sqlite3
// with a WAL database open, as src/store/database.ts opens it; nothing of the router. Built
// into a single executable as the router is (`node scripts/build-binary.mjs --entry
// test/bench/floor/stack.ts --name floor-stack --out dist/floor`: the same substitutions load
// both addons from the executable) and started by test/bench/startup.ts with the router's
// arguments; it reads only `--data DIR`.
import net from 'node:net';
import path from 'node:path';
import uWS from '@btc-vision/uwebsockets.js';
import Database from 'better-sqlite3';
import { settleHeap } from '../../../src/runtime/settle-heap.ts';

const data = process.argv[process.argv.indexOf('--data') + 1] ?? '.';
const db = new Database(path.join(data, 'floor.db'));
db.pragma('locking_mode = EXCLUSIVE');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)');
db.prepare('INSERT INTO t (v) VALUES (?)').run(Buffer.from('start'));

const app = uWS.App().ws('/*', { message: (ws, message, binary) => void ws.send(message, binary) });
app.listen('127.0.0.1', 0, (token) => {
  if (!token) throw new Error('uWS: cannot listen');
  const server = net.createServer((socket) => socket.destroy());
  server.listen(0, '127.0.0.1', () => {
    const ws = uWS.us_socket_local_port(token);
    const rawsocket = (server.address() as net.AddressInfo).port;
    process.stdout.write(`${JSON.stringify({ event: 'listening', ws, rawsocket })}\n`);
    // As the router does after its listening line.
    setImmediate(settleHeap);
  });
});
