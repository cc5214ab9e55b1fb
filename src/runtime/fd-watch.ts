// Says so in the log when the process runs out of file descriptors. At the limit neither
// listener can tell: libuv accepts the client on a reserve descriptor and closes it at once
// (Node never sees an error), and uWebSockets.js skips the failed accept. Clients are refused
// and, without this, nothing is written anywhere. Linux only (/proc); a no-op elsewhere.

import { readFileSync, readdirSync } from 'node:fs';
import type { Logger } from '../log.ts';

const CHECK_INTERVAL_MS = 2_000;
// While the shortage lasts, one line per interval is enough to see it in the journal.
const LOG_INTERVAL_MS = 30_000;

/** The soft RLIMIT_NOFILE, read each time: `prlimit` can change it on a running process. */
function openFileLimit(): number | undefined {
  const limits = readFileSync('/proc/self/limits', 'latin1');
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  return m?.[1] === undefined || m[1] === 'unlimited' ? undefined : Number(m[1]);
}

function openFiles(): number {
  return readdirSync('/proc/self/fd').length - 1; // readdir's own descriptor
}

/**
 * The size of the descriptor table (FDSize: at least the highest open descriptor + 1), an upper
 * bound of the open files. Listing /proc/self/fd makes a string per descriptor every interval,
 * megabytes of garbage a minute for a router holding ten thousand idle clients (and the young
 * generation's pages they touch stay resident); the listing is needed only when this bound is
 * near the limit.
 */
function descriptorTableSize(): number | undefined {
  const m = /^FDSize:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'latin1'));
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/**
 * Near the limit means fewer free descriptors than libuv, SQLite and a log write may need
 * (libuv keeps one in reserve, which is why "at" the limit is a few below it).
 */
export function nearLimit(used: number, limit: number): boolean {
  return limit - used <= Math.max(4, Math.ceil(limit / 100));
}

export function startFdWatch(logger: Logger, intervalMs = CHECK_INTERVAL_MS): () => void {
  let limit: number | undefined;
  try {
    limit = openFileLimit();
  } catch {
    return () => {};
  }
  let loggedAt = -Infinity;
  let short = false;
  const check = (): void => {
    let used: number | undefined;
    try {
      limit = openFileLimit();
      const bound = descriptorTableSize();
      if (limit !== undefined && bound !== undefined && !nearLimit(bound, limit)) {
        if (short)
          used = openFiles(); // for the line saying the shortage is over
        else return;
      } else used = openFiles();
    } catch {
      // Failing to open /proc for want of a descriptor is the very condition looked for;
      // the limit then is the one last read.
    }
    if (limit === undefined) return;
    const now = performance.now();
    if (used === undefined || nearLimit(used, limit)) {
      if (!short || now - loggedAt >= LOG_INTERVAL_MS) {
        logger.warn(
          { open_files: used, limit },
          'at the open-file limit: new connections are refused until some close (raise LimitNOFILE or ulimit -n)',
        );
        loggedAt = now;
      }
      short = true;
    } else if (short) {
      logger.warn({ open_files: used, limit }, 'open files back below the limit: accepting connections again');
      short = false;
    }
  };
  const timer = setInterval(check, intervalMs).unref();
  return () => clearInterval(timer);
}
