// Self-signed certificates for TLS tests, made by openssl (a third party, not the code under
// test), with the SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface SelfSigned {
  readonly cert: string;
  readonly key: string;
  readonly fingerprint: string;
}

/** EC P-256, valid two days, for 127.0.0.1 and localhost; files `<name>.crt` and `<name>.key` in `dir`. */
export function selfSigned(dir: string, name: string): SelfSigned {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`],
      ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    ],
    { stdio: 'ignore' },
  );
  const out = execFileSync('openssl', ['x509', '-in', cert, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  return { cert, key, fingerprint: out.trim().split('=')[1]! };
}
