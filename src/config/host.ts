// What may stand where a listener's host goes: an IP address (IPv6 without brackets) or a DNS
// name. Checked up front because uWebSockets.js reports a bad host only as "listen failed".

import net from 'node:net';

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

export function isHost(value: string): boolean {
  return net.isIP(value) !== 0 || (value.length <= 253 && HOSTNAME.test(value));
}
