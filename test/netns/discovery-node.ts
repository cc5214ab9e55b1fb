// A discovery-only node for the namespace tests: runs MdnsDiscovery and prints one JSON line
// per event on stdout ({"event":"ready"|"peer"|"gone"|"closed", ...}); logs go to stderr.
// SIGTERM/SIGINT close it (goodbyes), then it exits.
//
//   scripts/node24 test/netns/discovery-node.ts --node A --cluster c1 --port 7001
//     [--pv 1] [--ttl 120] [--query-interval-ms 30000] [--interfaces eth0,10.0.0.1] [--log debug]

import { parseArgs } from 'node:util';
import { createLogger, isLogLevel } from '../../src/log.ts';
import { MdnsDiscovery } from '../../src/mesh/discovery/mdns.ts';

const { values } = parseArgs({
  options: {
    node: { type: 'string' },
    cluster: { type: 'string' },
    port: { type: 'string' },
    pv: { type: 'string' },
    ttl: { type: 'string' },
    'query-interval-ms': { type: 'string' },
    interfaces: { type: 'string' },
    log: { type: 'string', default: 'info' },
  },
});

const print = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const level = values.log ?? 'info';
if (!isLogLevel(level)) throw new Error(`bad --log ${level}`);
const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));

const discovery = new MdnsDiscovery({
  nodeId: values.node ?? '',
  clusterName: values.cluster ?? '',
  linkPort: num(values.port) ?? 0,
  protocolVersion: num(values.pv),
  ttlSec: num(values.ttl),
  queryIntervalMs: num(values['query-interval-ms']),
  interfaces: values.interfaces?.split(',').filter((s) => s.length > 0),
  logger: createLogger({ level }),
  onPeer: (nodeId, endpoint) => print({ event: 'peer', nodeId, ...endpoint }),
  onPeerGone: (nodeId) => print({ event: 'gone', nodeId }),
  onConflict: (iface, from) => print({ event: 'conflict', iface: iface.name, from }),
});

let closing = false;
const stop = (): void => {
  if (closing) return;
  closing = true;
  void discovery.close().then(() => {
    print({ event: 'closed' });
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

await discovery.start();
print({ event: 'ready', nodeId: discovery.nodeId, interfaces: discovery.interfaces() });
