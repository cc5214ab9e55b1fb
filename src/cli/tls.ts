// `wampmesh tls`: the certificates the client listeners serve, read from the same files the
// router reads, so an operator can compare a fingerprint with what a client is shown without
// a running router (first boot, a certificate about to be installed).

import fs from 'node:fs';
import { loadConfig } from '../config/config.ts';
import { SERVICE_CONFIG } from './data-dir.ts';
import { UsageError } from './errors.ts';
import { loadListenerTls, summary } from './tls-listeners.ts';

export const tlsHelp = `Usage: wampmesh tls [--config FILE]

Prints one JSON line per TLS client listener of the config: its field, address, and the
certificate's SHA-256 fingerprint, subject and expiry. Without --config: $WAMPMESH_CONFIG, else
${SERVICE_CONFIG} if it exists, else the embedded default (which has no TLS listener).
The running router reads the files again on SIGHUP (systemctl reload wampmesh).
`;

/** Exit status: 0, or 1 when a listener's files cannot be used (the line names the field). */
export function runTls(argv: readonly string[], out: (s: string) => void): number {
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      out(tlsHelp);
      return 0;
    }
    let value: string | undefined;
    if (a === '--config' && argv[i + 1] !== undefined) value = argv[++i];
    else if (a?.startsWith('--config=')) value = a.slice('--config='.length);
    else throw new UsageError(`unexpected argument '${a}'`);
    // As parseOnce (single-values.ts) does for the other commands: the first file must not be dropped unsaid.
    if (configFile !== undefined) throw new UsageError('--config given more than once: it takes one value');
    configFile = value;
  }
  if (configFile === undefined) {
    const service = process.env.WAMPMESH_CONFIG || SERVICE_CONFIG;
    if (fs.existsSync(service)) configFile = service;
  }
  const config = loadConfig(configFile);
  const listeners = [
    ...config.listeners.websocket.map((l, i) => ({ field: `listeners.websocket[${i}]`, l, url: 'wss' })),
    ...config.listeners.rawsocket.map((l, i) => ({ field: `listeners.rawsocket[${i}]`, l, url: 'rawsocket+tls' })),
    ...config.listeners.mqtt.map((l, i) => ({ field: `listeners.mqtt[${i}]`, l, url: 'mqtts' })),
  ];
  let shown = 0;
  for (const { field, l, url } of listeners) {
    if (l.tls === undefined) continue;
    const loaded = loadListenerTls(field, l.tls);
    out(`${JSON.stringify({ listener: field, transport: url, host: l.host, port: l.port, ...summary(loaded) })}\n`);
    shown++;
  }
  if (shown === 0) out(`no TLS client listener in ${configFile ?? 'the embedded default'}\n`);
  return 0;
}
