// `wampmesh admin reset --data DIR`: the offline way back in when the admin realm is locked
// (see src/security/reset.ts). Runs only with the router stopped (the database's exclusive lock
// says so) and as the data folder's owner: files written by another user (root) would leave the
// service unable to open its own database.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createSecurity } from '../security/index.ts';
import { restoreAdminAccess } from '../security/reset.ts';
import { openDatabase } from '../store/database.ts';
import { StartError, UsageError } from './errors.ts';
import { parseOnce } from './single-values.ts';

export const adminResetHelp = `Usage: wampmesh admin reset --data DIR [--password-file FILE | --password-stdin]

Restores a working login to the admin realm wampmesh.admin, with the router stopped, run as the
owner of DIR: enables user admin (re-created if deleted) in group admin, puts back the group,
its grants (call on wampmesh., call and subscribe on wamp.), its sources (trust on the Unix
socket; cryptosign, wamp-scram, ticket from any address) and the realm's settings
(allow_connections, those authmethods), and sets a new password for admin: read from FILE
(first line) or stdin, else generated and printed once. Nothing else is changed. In a mesh,
the restored records replicate to the other nodes on the first link after the router starts.
`;

function readPassword(values: { 'password-file'?: string; 'password-stdin'?: boolean }): string | undefined {
  let text: string;
  if (values['password-file'] !== undefined) {
    try {
      text = fs.readFileSync(values['password-file'], 'utf8');
    } catch (e) {
      throw new UsageError(`--password-file: cannot read ${values['password-file']}: ${(e as Error).message}`);
    }
  } else if (values['password-stdin'] === true) {
    text = fs.readFileSync(0, 'utf8');
  } else {
    return undefined;
  }
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line.length < 8)
    throw new UsageError('the password must be at least 8 characters (first line of the file or stdin)');
  return line;
}

/** Runs `wampmesh admin ...`; returns the exit status. */
export function runAdminReset(argv: readonly string[], out: (s: string) => void): number {
  if (argv[0] !== 'reset') {
    if (argv[0] === undefined || argv[0] === '--help' || argv[0] === '-h') {
      out(adminResetHelp);
      return 0;
    }
    throw new UsageError(`unknown subcommand 'admin ${argv[0]}' (one of: reset)`);
  }
  let values: { data?: string; 'password-file'?: string; 'password-stdin'?: boolean; help?: boolean };
  try {
    ({ values } = parseOnce({
      args: [...argv.slice(1)],
      strict: true,
      allowPositionals: false,
      options: {
        data: { type: 'string' },
        'password-file': { type: 'string' },
        'password-stdin': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError(`admin reset: ${(e as Error).message.split('\n')[0]}`);
  }
  if (values.help === true) {
    out(adminResetHelp);
    return 0;
  }
  if (values.data === undefined || values.data === '')
    throw new UsageError('admin reset: --data DIR is required (the data folder of the stopped router)');
  if (values['password-file'] !== undefined && values['password-stdin'] === true)
    throw new UsageError('admin reset: give --password-file or --password-stdin, not both');
  const dir = path.resolve(values.data);
  let owner: number;
  try {
    owner = fs.statSync(dir).uid;
  } catch (e) {
    throw new StartError(
      `cannot use ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (e as Error).message}`,
    );
  }
  const me = process.getuid?.();
  if (me !== undefined && me !== owner) {
    throw new StartError(
      `run this as the owner of ${dir} (uid ${owner}), e.g. with sudo -u; files written as uid ${me} would lock the router out of its own database`,
    );
  }
  const given = readPassword(values);
  const password = given ?? crypto.randomBytes(18).toString('base64url');
  // Refuses a folder without a database, and one a running router holds (its exclusive lock).
  const db = openDatabase(dir, { create: false });
  try {
    const security = createSecurity(db);
    const done = restoreAdminAccess(security.store, { realm: security.adminRealm, password });
    out(`admin access to ${security.adminRealm} restored in ${dir}:\n${done.map((d) => `  ${d}\n`).join('')}`);
    if (given === undefined) out(`new password of user admin (shown only now): ${password}\n`);
  } finally {
    db.close();
  }
  return 0;
}
