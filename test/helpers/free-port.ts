// A loopback TCP port free at the moment of asking, for a config that needs two listeners on
// one port (HTTP beside WebSocket): port 0 never shares. Another process may take it before
// it is bound, so callers that can retry should.

import net from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
