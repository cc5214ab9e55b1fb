// The WAMP test vectors as seed frames for the fuzz suites: real messages of every type, in
// each serialization, for the mutators to start from.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Serializer } from '../../src/serializers/index.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const VECTORS_DIR = resolve(repoRoot, 'test', 'vectors', 'wamp');

interface Representation {
  bytes?: string;
  bytes_hex?: string;
  bytes_base64?: string;
}

/**
 * Every single-message sample of the vectors in this serialization (their exact bytes), plus
 * the validation samples' raw messages encoded here. A missing vectors folder is an error,
 * never a silent skip (test/vectors does the same).
 */
export function vectorFrames(serializer: Serializer): Uint8Array[] {
  const dir = join(VECTORS_DIR, 'singlemessage');
  if (!existsSync(dir)) throw new Error(`WAMP test vectors not found at ${dir}`);
  const frames: Uint8Array[] = [];
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .sort();
  for (const file of files.map((name) => join(dir, name))) {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { samples?: unknown[] };
    for (const sample of doc.samples ?? []) {
      const s = sample as { serializers?: Record<string, Representation[]>; wmsg?: unknown[] };
      for (const rep of s.serializers?.[serializer.name] ?? []) {
        if (rep.bytes_hex !== undefined) frames.push(Buffer.from(rep.bytes_hex, 'hex'));
        else if (rep.bytes_base64 !== undefined) frames.push(Buffer.from(rep.bytes_base64, 'base64'));
        else if (rep.bytes !== undefined) frames.push(Buffer.from(rep.bytes, 'utf8'));
      }
      if (Array.isArray(s.wmsg)) {
        try {
          frames.push(serializer.encode(s.wmsg));
        } catch {
          /* not representable here */
        }
      }
    }
  }
  if (frames.length === 0) throw new Error(`no ${serializer.name} frames in ${dir}`);
  return frames;
}
