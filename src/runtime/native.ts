// Native addons (better-sqlite3, uWebSockets.js) for both ways wampmesh runs:
// - from the sources (scripts/wampmesh): the packages in node_modules load their own .node files;
// - as the single executable (Node SEA): the .node files ride inside the executable as SEA
//   assets. dlopen() needs a real file, so each addon is written once to a cache folder
//   (temp file + rename, so a crash never leaves half a library under the final name), its
//   sha256 checked against the one recorded at build time, and loaded with process.dlopen.
//
// Cache folder, first that applies (documented in systemd/README.md):
//   $WAMPMESH_CACHE_DIR            explicit override
//   $CACHE_DIRECTORY               set by systemd for CacheDirectory=wampmesh (/var/cache/wampmesh)
//   $XDG_CACHE_HOME/wampmesh       interactive users
//   $HOME/.cache/wampmesh
//   <os.tmpdir()>/wampmesh-<uid>   last resort (created 0700)
// Files are named by content hash (<name>-<sha256 prefix>.node), so several versions coexist
// and an upgrade never loads a stale library. The folder must be writable on first start
// (afterwards a read-only folder holding the right files is fine) and must not be on a
// filesystem mounted noexec: the kernel refuses to map code from there.

import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import sea from 'node:sea';
import type * as UWS from '@btc-vision/uwebsockets.js';
import { makeDirs } from './make-dirs.ts';

/** The addons the single executable carries, by SEA asset key. */
export type NativeAsset = 'better_sqlite3.node' | 'uws.node';

interface AssetInfo {
  readonly sha256: string;
  readonly size: number;
}

// Filled in by scripts/build-binary.mjs (esbuild `define`): per architecture, the sha256 and
// size of each asset. Absent when running from the sources.
declare const __WAMPMESH_NATIVE_ASSETS__: Record<string, Record<string, AssetInfo>> | undefined;

export class NativeAddonError extends Error {
  /** GLIBC_TOO_OLD, NOEXEC, CACHE_UNWRITABLE, CHECKSUM, LOAD */
  readonly code: string;
  constructor(code: string, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'NativeAddonError';
    this.code = code;
  }
}

let seaCached: boolean | undefined;

/** True inside the single executable. */
export function isSea(): boolean {
  if (seaCached === undefined) {
    try {
      seaCached = sea.isSea();
    } catch {
      seaCached = false;
    }
  }
  return seaCached;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v : undefined;
}

/** The folder native addons are extracted to (see the comment at the top for the order). */
export function nativeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = nonEmpty(env.WAMPMESH_CACHE_DIR);
  if (explicit) return path.resolve(explicit);
  // systemd passes a colon-separated list when CacheDirectory= names several folders.
  const systemd = nonEmpty(env.CACHE_DIRECTORY)?.split(':')[0];
  if (systemd) return path.resolve(systemd);
  const xdg = nonEmpty(env.XDG_CACHE_HOME);
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'wampmesh');
  const home = nonEmpty(env.HOME);
  if (home && home !== '/' && path.isAbsolute(home)) return path.join(home, '.cache', 'wampmesh');
  return path.join(os.tmpdir(), `wampmesh-${process.getuid?.() ?? 'user'}`);
}

const ALTERNATIVE =
  'set WAMPMESH_CACHE_DIR to a writable folder on a filesystem mounted without noexec ' +
  '(e.g. WAMPMESH_CACHE_DIR=/var/cache/wampmesh; under systemd use CacheDirectory=wampmesh)';

/** Mount point and options of the filesystem holding `dir`, from /proc/self/mountinfo. */
function mountOf(dir: string): { mountPoint: string; options: string[] } | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  let real = dir;
  try {
    real = fs.realpathSync(dir);
  } catch {
    /* not there yet: use the path as given */
  }
  let best: { mountPoint: string; options: string[] } | undefined;
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 6) continue;
    // Octal escapes (\040 for a space) in mount points.
    const mountPoint = f[4]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    const inside = mountPoint === '/' || real === mountPoint || real.startsWith(`${mountPoint}/`);
    // Later lines win for the same mount point (mounts stacked over each other).
    if (inside && (!best || mountPoint.length >= best.mountPoint.length))
      best = { mountPoint, options: f[5]!.split(',') };
  }
  return best;
}

function noexecError(dir: string, mountPoint: string, cause?: unknown): NativeAddonError {
  return new NativeAddonError(
    'NOEXEC',
    `cannot load native code from the cache folder ${dir}: its filesystem (${mountPoint}) is mounted noexec; ${ALTERNATIVE}`,
    cause,
  );
}

function sha256(data: Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function readIfPresent(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Makes the cache folder (0700) and refuses one that others could write into. */
function prepareDir(dir: string): void {
  try {
    makeDirs(path.resolve(dir), 0o700);
  } catch (e) {
    throw new NativeAddonError(
      'CACHE_UNWRITABLE',
      `cannot create the native addon cache folder ${dir}: ${(e as Error).message}; ${ALTERNATIVE}`,
      e,
    );
  }
  const st = fs.statSync(dir);
  const uid = process.getuid?.();
  // Group/world-writable and not ours: someone else could swap a library between our check
  // and dlopen. (Sticky /tmp itself is never used directly: we use a private subfolder.)
  if (uid !== undefined && st.uid !== uid && st.uid !== 0 && (st.mode & 0o022) !== 0) {
    throw new NativeAddonError(
      'CACHE_UNWRITABLE',
      `the native addon cache folder ${dir} is writable by other users and not owned by this user; ${ALTERNATIVE}`,
    );
  }
}

/** Writes `data` to `file` atomically: temp file in the same folder, fsync, rename. */
function writeAtomic(file: string, data: Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    const fd = fs.openSync(tmp, 'wx', 0o644);
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* nothing more to do */
    }
    const code = (e as NodeJS.ErrnoException).code;
    throw new NativeAddonError(
      'CACHE_UNWRITABLE',
      `cannot write ${file}${code ? ` (${code})` : ''}: the native addon cache folder is not writable; ${ALTERNATIVE}`,
      e,
    );
  }
}

/** The glibc this process runs on, e.g. "2.36" (undefined on musl or when unknown). */
export function glibcVersion(): string | undefined {
  try {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    return header?.glibcVersionRuntime;
  } catch {
    return undefined;
  }
}

/** Turns a dlopen failure into a message that says what is missing and what to do. */
function explainLoadError(what: string, file: string, e: unknown): NativeAddonError {
  const reason = (e as Error).message ?? String(e);
  const glibc = /version `(GLIBC_[0-9.]+)' not found/.exec(reason);
  if (glibc) {
    const need = glibc[1]!.slice('GLIBC_'.length);
    const have = glibcVersion();
    return new NativeAddonError(
      'GLIBC_TOO_OLD',
      `${what} needs glibc >= ${need} (${glibc[1]} not found); this system has glibc ${have ?? 'unknown'}. ` +
        'Debian 13, Raspberry Pi OS trixie and Ubuntu 24.04 or newer have it',
      e,
    );
  }
  if (/failed to map segment|operation not permitted/i.test(reason)) {
    const m = mountOf(path.dirname(file));
    if (m?.options.includes('noexec')) return noexecError(path.dirname(file), m.mountPoint, e);
  }
  return new NativeAddonError('LOAD', `cannot load ${what} from ${file}: ${reason}`, e);
}

function dlopen(what: string, file: string): unknown {
  const module = { exports: {} as unknown };
  try {
    process.dlopen(module, file, os.constants.dlopen.RTLD_NOW);
  } catch (e) {
    throw explainLoadError(what, file, e);
  }
  return module.exports;
}

function assetTable(): Record<string, AssetInfo> {
  const all = typeof __WAMPMESH_NATIVE_ASSETS__ === 'undefined' ? undefined : __WAMPMESH_NATIVE_ASSETS__;
  const table = all?.[process.arch];
  if (!table) throw new NativeAddonError('LOAD', `this executable carries no native addons for ${process.arch}`);
  return table;
}

/** Extracts a SEA asset to the cache folder (once) and returns the verified file's path. */
export function extractAsset(key: NativeAsset, env: NodeJS.ProcessEnv = process.env): string {
  const info = assetTable()[key];
  if (!info) throw new NativeAddonError('LOAD', `this executable has no asset ${key}`);
  const dir = nativeCacheDir(env);
  const file = path.join(dir, `${key.replace(/\.node$/, '')}-${process.arch}-${info.sha256.slice(0, 16)}.node`);
  const existing = readIfPresent(file);
  if (existing && existing.length === info.size && sha256(existing) === info.sha256) return checkExec(file);
  // getRawAsset: a view of the executable's own memory, no copy.
  const data = new Uint8Array(sea.getRawAsset(key));
  if (data.length !== info.size || sha256(data) !== info.sha256) {
    throw new NativeAddonError(
      'CHECKSUM',
      `the ${key} inside this executable does not match its recorded sha256: the file is damaged; reinstall wampmesh`,
    );
  }
  prepareDir(dir);
  writeAtomic(file, data);
  // Read back what the filesystem now holds: that is what dlopen will map.
  const written = readIfPresent(file);
  if (!written || sha256(written) !== info.sha256) {
    throw new NativeAddonError('CHECKSUM', `${file} does not match its sha256 after writing it (disk full or faulty?)`);
  }
  return checkExec(file);
}

function checkExec(file: string): string {
  const m = mountOf(path.dirname(file));
  if (m?.options.includes('noexec')) throw noexecError(path.dirname(file), m.mountPoint);
  return file;
}

const sourceRequire = createRequire(import.meta.url);
let sqliteBinding: object | undefined;
let uws: typeof UWS | undefined;

/**
 * better-sqlite3's `nativeBinding` option: the loaded addon in the single executable,
 * undefined from the sources (better-sqlite3 then finds its own prebuild).
 */
export function sqliteNativeBinding(): object | undefined {
  if (!isSea()) return undefined;
  sqliteBinding ??= dlopen('SQLite (better-sqlite3)', extractAsset('better_sqlite3.node')) as object;
  return sqliteBinding;
}

/**
 * uWebSockets.js, loaded on first use. Throws NativeAddonError (code GLIBC_TOO_OLD on glibc
 * older than 2.38) when this system cannot run it.
 */
export function loadUws(): typeof UWS {
  if (uws) return uws;
  if (isSea()) {
    uws = dlopen('WebSocket support (uWebSockets.js)', extractAsset('uws.node')) as typeof UWS;
  } else {
    try {
      uws = sourceRequire('@btc-vision/uwebsockets.js') as typeof UWS;
    } catch (e) {
      throw explainLoadError('WebSocket support (uWebSockets.js)', '@btc-vision/uwebsockets.js', e);
    }
  }
  return uws;
}

/** Why WebSocket cannot be served on this system, or undefined when it can (loads uWS). */
export function webSocketUnavailableReason(): string | undefined {
  try {
    loadUws();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
