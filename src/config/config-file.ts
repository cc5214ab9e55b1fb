// Reading the config file: a regular file of at most CONFIG_FILE_MAX bytes. `--config
// /dev/zero` read without end (the router grew until the kernel killed it), and a FIFO would
// hold the start until something wrote to it; neither is a config a router can start from.

import fs from 'node:fs';

/**
 * 1 MiB: the largest real configs (many realms, gateway APIs, bridges) are tens of KiB, so
 * this is far above any of them, and still little for a board with 512 MiB of RAM to parse.
 */
export const CONFIG_FILE_MAX = 1024 * 1024;

/** The file's text; throws an Error whose message says what is wrong (without the file name or "cannot read"). */
export function readConfigFile(file: string): string {
  let fd: number;
  // O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer. No effect on a regular file.
  fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new Error(`not a regular file (${kind(stat)})`);
    if (stat.size > CONFIG_FILE_MAX)
      throw new Error(`${stat.size} bytes, over the ${CONFIG_FILE_MAX} (1 MiB) a config file may have`);
    // Read at most one byte past the limit: a file growing while it is read is refused too.
    const buffer = Buffer.alloc(CONFIG_FILE_MAX + 1);
    let length = 0;
    for (;;) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > CONFIG_FILE_MAX) throw new Error(`over the ${CONFIG_FILE_MAX} bytes (1 MiB) a config file may have`);
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    fs.closeSync(fd);
  }
}

function kind(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  return 'not a file';
}
