// aedes (npm, an MQTT 3.1.1 broker on Node) on a loopback port, for test/bench/mqtt.ts; prints
// {"port": N} once listening.

import net from 'node:net';
import { Aedes } from 'aedes';

const broker = await Aedes.createBroker();
const server = net.createServer(broker.handle);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
