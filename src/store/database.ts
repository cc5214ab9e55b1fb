// The SQLite database in the data folder: the source of truth for realms, security and
// persistent events. Durability choices:
// - WAL journal, synchronous=FULL: every acknowledged commit is fsynced, so it survives
//   kill -9 and power loss (NORMAL would survive a crash but may lose the last commits on power loss).
// - locking_mode=EXCLUSIVE, taken at open: one process per data folder. The lock is an fcntl
//   lock, so the kernel drops it when a process dies: no stale lock files after a power cut.
// - Private whatever the umask: the folder is made 0700 and the database 0600 (it holds WAMP-CRA
//   derived keys, enough to log in). SQLite gives -wal and -shm the database file's mode, so
//   creating the file ourselves with 0600 before SQLite does covers them too.

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeDirs } from '../runtime/make-dirs.ts';
import { migrations } from './migrations.ts';

export type Db = Database.Database;

export class StoreError extends Error {
  readonly code: string;
  readonly file: string;
  constructor(code: string, file: string, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StoreError';
    this.code = code;
    this.file = file;
  }
}

export const DATABASE_FILE = 'wampmesh.db';

export interface OpenOptions {
  /** Native addon for better-sqlite3 when running from the single executable. */
  nativeBinding?: string | object;
  /** false: refuse a folder without a database instead of creating one (the admin CLI without --init). */
  create?: boolean;
}

/** Mode of the data folder when wampmesh creates it, and of every file in it. */
export const DATA_DIR_MODE = 0o700;
export const DATA_FILE_MODE = 0o600;
/** The files SQLite keeps next to the database. */
const SIDE_FILES = ['', '-wal', '-shm', '-journal'];

export function openDatabase(dataDir: string, options: OpenOptions = {}): Db {
  const file = path.resolve(dataDir, DATABASE_FILE);
  if (options.create === false && !fs.existsSync(file)) {
    throw new StoreError(
      'NO_DATABASE',
      file,
      `${path.resolve(dataDir)} holds no wampmesh database (${DATABASE_FILE}); check --data, or add --init to create one there`,
    );
  }
  try {
    makeDirs(path.resolve(dataDir), DATA_DIR_MODE);
  } catch (err) {
    throw new StoreError(
      'DATA_DIR',
      file,
      `cannot create data folder ${path.resolve(dataDir)}: ${(err as Error).message}`,
      err,
    );
  }
  // SQLite reports a read-only folder as a vague I/O error once WAL needs its side files.
  for (const [target, what] of [
    [path.dirname(file), 'data folder'],
    [file, 'database file'],
  ] as const) {
    try {
      fs.accessSync(target, fs.constants.W_OK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new StoreError(
        'SQLITE_READONLY',
        file,
        `${file}: the ${what} ${target} is read-only: check its permissions and owner`,
        err,
      );
    }
  }
  let db: Db | undefined;
  try {
    makePrivate(file);
    db = new Database(file, {
      timeout: 0,
      ...(options.nativeBinding !== undefined && { nativeBinding: options.nativeBinding as string }),
    });
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // Takes the exclusive lock now, not at the first write.
    db.exec('BEGIN IMMEDIATE; COMMIT;');
    migrate(db);
    return db;
  } catch (err) {
    db?.close();
    throw translate(err, file);
  }
}

/**
 * Creates the database file 0600 if missing and takes group and other access away from it and
 * its side files (left 0644 by an older wampmesh or a copy). A file owned by someone else is
 * left alone: SQLite then says what is wrong with it.
 */
function makePrivate(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_WRONLY, DATA_FILE_MODE));
  } catch {
    return;
  }
  for (const suffix of SIDE_FILES) {
    try {
      const st = fs.statSync(file + suffix);
      if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) fs.chmodSync(file + suffix, DATA_FILE_MODE);
    } catch {
      // absent, or not ours
    }
  }
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new StoreError(
      'SCHEMA_TOO_NEW',
      db.name,
      `${db.name} has schema version ${current}, newer than this wampmesh (${migrations.length}); upgrade wampmesh`,
    );
  }
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Turns SQLite's errors into ones that name the file and say what to do. */
export function translate(err: unknown, file: string): Error {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: string }).code ?? 'UNKNOWN';
  const reason = (err as Error).message;
  const say = (msg: string) => new StoreError(code, file, `${file}: ${msg}`, err);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
    return say('in use by another wampmesh process (one router per data folder)');
  if (code.startsWith('SQLITE_READONLY')) return say('read-only: check the permissions of the file and its folder');
  if (code === 'SQLITE_FULL') return say('the disk is full');
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB')
    return say(`corrupt or not a SQLite database (${reason}); restore it from a backup or move it away`);
  if (code.startsWith('SQLITE_CANTOPEN')) return say('cannot open: check that the folder exists and is writable');
  if (code.startsWith('SQLITE_IOERR')) return say(`I/O error (${reason})`);
  return say(reason);
}

/**
 * Why the database cannot take writes now, or undefined when it can: for readiness probes.
 * The folder, the file and its write-ahead log must be writable (a later checkpoint or restart
 * needs all three) and the write lock must be ours. Writes no row: a probe every few seconds
 * must not wear an SD card.
 */
export function unwritableReason(db: Db): string | undefined {
  const file = db.name;
  for (const target of [path.dirname(file), file, `${file}-wal`]) {
    try {
      fs.accessSync(target, fs.constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && target !== file) continue;
      return `${target} is not writable (${code ?? 'error'})`;
    }
  }
  try {
    db.exec('BEGIN IMMEDIATE; COMMIT;');
  } catch (err) {
    return translate(err, file).message;
  }
  return undefined;
}
