// A certificate authority for client-certificate tests, run by openssl (a third party, not the
// code under test): EC P-256, valid two days; it issues client certificates, revokes them and
// writes its certificate revocation list.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Issued {
  readonly cert: string;
  readonly key: string;
}

export interface Authority {
  readonly cert: string;
  /** A client certificate for `subject` (e.g. "/CN=alice"), signed by this CA. */
  issue(file: string, subject: string): Issued;
  /** Marks `cert` revoked and writes the CA's CRL to `crl`. */
  revoke(cert: string): void;
  /** The CRL file (written by revoke(); empty of entries before). */
  readonly crl: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA called `name` with its files under `dir/name/`. */
export function certificateAuthority(dir: string, name: string): Authority {
  const home = join(dir, name);
  mkdirSync(home, { recursive: true });
  const cert = join(home, 'ca.crt');
  const key = join(home, 'ca.key');
  openssl(['req', '-x509', ...EC, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`]);
  const config = join(home, 'ca.cnf');
  writeFileSync(join(home, 'index.txt'), '');
  writeFileSync(join(home, 'crlnumber'), '01\n');
  writeFileSync(
    config,
    [
      '[ca]',
      'default_ca = d',
      '[d]',
      `database = ${join(home, 'index.txt')}`,
      `crlnumber = ${join(home, 'crlnumber')}`,
      'default_md = sha256',
      'default_crl_days = 2',
      '',
    ].join('\n'),
  );
  const extensions = join(home, 'client.ext');
  writeFileSync(extensions, 'basicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth\n');
  const crl = join(home, 'crl.pem');
  const gencrl = () => openssl(['ca', '-config', config, '-keyfile', key, '-cert', cert, '-gencrl', '-out', crl]);
  gencrl();
  return {
    cert,
    crl,
    issue(file, subject) {
      const issued = { cert: join(home, `${file}.crt`), key: join(home, `${file}.key`) };
      const csr = join(home, `${file}.csr`);
      openssl(['req', '-new', ...EC, '-keyout', issued.key, '-out', csr, '-subj', subject]);
      openssl([
        ...['x509', '-req', '-in', csr, '-CA', cert, '-CAkey', key, '-CAcreateserial'],
        ...['-days', '2', '-extfile', extensions, '-out', issued.cert],
      ]);
      return issued;
    },
    revoke(revoked) {
      openssl(['ca', '-config', config, '-keyfile', key, '-cert', cert, '-revoke', revoked]);
      gencrl();
    },
  };
}
