// "wampmesh 0.1.0 (3d46546)": the package version, plus the git commit when running from a
// checkout. The commit is read from .git directly (no git binary, no subprocess): cheap, and
// simply left out when there is no checkout, as in an installed bundle.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function packageVersion(): string {
  const pkg: unknown = JSON.parse(readText(path.join(root, 'package.json')) ?? '{}');
  const version = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? pkg.version : undefined;
  return typeof version === 'string' ? version : 'unknown';
}

export function gitRevision(): string | undefined {
  const gitDir = path.join(root, '.git');
  const head = readText(path.join(gitDir, 'HEAD'))?.trim();
  if (!head) return undefined;
  const ref = /^ref: (.+)$/.exec(head)?.[1];
  if (!ref) return /^[0-9a-f]{40}$/.test(head) ? head.slice(0, 7) : undefined;
  const loose = readText(path.join(gitDir, ref))?.trim();
  // After `git gc` (and in fresh clones) refs live in packed-refs: "<sha> <ref>" lines.
  const sha =
    loose ??
    readText(path.join(gitDir, 'packed-refs'))
      ?.split('\n')
      .find((line) => line.endsWith(` ${ref}`))
      ?.split(' ')[0];
  return sha && /^[0-9a-f]{40}$/.test(sha) ? sha.slice(0, 7) : undefined;
}

export function versionLine(): string {
  const rev = gitRevision();
  return `wampmesh ${packageVersion()}${rev ? ` (${rev})` : ''}`;
}
