// A loopback TCP port free at the moment of asking, for a config that needs two listeners on
// one port (HTTP beside WebSocket): port 0 never shares. It is taken below the kernel's
// ephemeral range, which bind(0) and connect() draw from: a port from that range, released
// here, could be handed to another test's listener or client before the router binds it.

import { readFileSync } from 'node:fs';
import net from 'node:net';

const BELOW_EPHEMERAL = 10_000;

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > BELOW_EPHEMERAL + 1024 ? low : 0;
  } catch {
    return 0;
  }
}

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => {
      const bound = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(bound));
    });
  });
}

export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  if (low > 0)
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = await tryListen(low - 1 - Math.floor(Math.random() * BELOW_EPHEMERAL));
      if (port !== undefined) return port;
    }
  const port = await tryListen(0);
  if (port === undefined) throw new Error('no free loopback port');
  return port;
}
