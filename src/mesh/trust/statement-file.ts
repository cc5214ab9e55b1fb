// The membership statements a node holds, kept in its data folder (mesh-members.json) so that a
// restarted node knows who is admitted and who was removed before any neighbour tells it. The
// file is a cache of what the mesh floods: each statement is checked again when read.

import fs from 'node:fs';
import type { Logger } from '../../log.ts';
import type { MemberStatement } from './statements.ts';
import { validateStatement } from './statements.ts';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const bytes = (s: unknown) => (typeof s === 'string' ? new Uint8Array(Buffer.from(s, 'base64url')) : undefined);

export function loadStatements(file: string, log: Logger): MemberStatement[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  try {
    const list = JSON.parse(text) as Record<string, unknown>[];
    const out: MemberStatement[] = [];
    for (const v of Array.isArray(list) ? list : []) {
      const s = validateStatement({ ...v, t: 'member', key: bytes(v.key), by: bytes(v.by), sig: bytes(v.sig) });
      if (typeof s !== 'string') out.push(s);
    }
    return out;
  } catch (e) {
    log.warn({ file, err: (e as Error).message }, 'mesh members file unreadable; starting from what the mesh tells');
    return [];
  }
}

export function saveStatements(file: string, statements: readonly MemberStatement[], log: Logger): void {
  const list = statements.map((s) => ({ ...s, key: b64(s.key), by: b64(s.by), sig: b64(s.sig) }));
  try {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(list), { mode: 0o600 });
    fs.renameSync(`${file}.tmp`, file);
  } catch (e) {
    log.error({ file, err: (e as Error).message }, 'mesh members file cannot be written');
  }
}
