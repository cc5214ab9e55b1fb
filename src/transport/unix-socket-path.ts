// The file-system side of a Unix domain socket listener: checks that name the cause before
// bind(2) gives a misleading errno (EACCES for a missing folder, bare EINVAL for a long path),
// the socket file's mode, and the stale file a dead process left behind.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

// Not node:fs/promises: importing it loads readline and the REPL's history with it, about 1 MB of
// a router's idle RSS, for these few calls at start-up.
const lstat = promisify(fs.lstat);
const stat = promisify(fs.stat);
const unlink = promisify(fs.unlink);
const chmod = promisify(fs.chmod);

/**
 * sun_path in struct sockaddr_un is 108 octets on Linux, one of them for the terminating
 * NUL: a longer path cannot be bound at all.
 */
export const UNIX_PATH_MAX = 107;

/** The socket path is taken by a live listener (or is not a socket at all). */
export class SocketPathInUseError extends Error {
  readonly path: string;
  constructor(path: string, why: string) {
    super(`${path}: ${why}`);
    this.name = 'SocketPathInUseError';
    this.path = path;
  }
}

/** The socket path cannot be used; the message says why (a missing folder, a path too long). */
export class UnixSocketPathError extends Error {
  readonly path: string;
  constructor(socketPath: string, why: string) {
    super(why);
    this.name = 'UnixSocketPathError';
    this.path = socketPath;
  }
}

/** Fails with the cause before listening, where the kernel's errno would mislead. */
export async function checkUnixSocketPath(socketPath: string): Promise<void> {
  const octets = Buffer.byteLength(socketPath);
  if (octets > UNIX_PATH_MAX) {
    throw new UnixSocketPathError(
      socketPath,
      `the path is ${octets} octets long; Unix socket paths are limited to ${UNIX_PATH_MAX} (sun_path): use a shorter path`,
    );
  }
  const folder = path.dirname(path.resolve(socketPath));
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UnixSocketPathError(socketPath, `the folder ${folder} does not exist`);
    if (code === 'ENOTDIR')
      throw new UnixSocketPathError(socketPath, `${folder} is not a folder (a part of it is a file)`);
    return; // EACCES and the like: bind reports them as they are
  }
  if (!info.isDirectory()) throw new UnixSocketPathError(socketPath, `${folder} is not a folder`);
}

/** Gives the socket file `mode` once it is bound (bind(2) makes it with the umask's). */
export function setSocketMode(socketPath: string, mode: number): Promise<void> {
  return chmod(socketPath, mode);
}

export function parseMode(mode: number | string): number {
  const value = typeof mode === 'string' && /^0?[0-7]{3}$/.test(mode) ? parseInt(mode, 8) : mode;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0o777) {
    throw new RangeError(`Unix socket mode must be 0..0o777 or an octal string like "0660", got ${String(mode)}`);
  }
  return value;
}

/**
 * A socket file left by a process that died is removed; one with a live listener, or a path
 * that is not a socket, is refused rather than stolen or deleted.
 */
export async function removeStaleSocket(path: string): Promise<void> {
  let stat: Awaited<ReturnType<typeof lstat>>;
  try {
    stat = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stat.isSocket()) throw new SocketPathInUseError(path, 'exists and is not a socket');
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new SocketPathInUseError(path, 'another process is listening on it');
  await unlink(path);
}
