// A listener's accept errors. Running out of file descriptors (EMFILE for the process, ENFILE
// for the system) refuses every new client while it lasts and can repeat thousands of times a
// second, so it is written at most once per interval, with the count of those held back.
// (libuv usually hides EMFILE from Node: it accepts and closes the connection on a reserve
// descriptor; src/runtime/fd-watch.ts notices that case from the descriptor count.)

import type { Logger } from '../log.ts';

const LOG_INTERVAL_MS = 10_000;

export class AcceptErrorLog {
  readonly #log: Logger;
  readonly #address: string;
  #loggedAt = -Infinity;
  #unlogged = 0;

  constructor(log: Logger, address: string) {
    this.#log = log;
    this.#address = address;
  }

  report(error: Error): void {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EMFILE' && code !== 'ENFILE') {
      this.#log.error({ address: this.#address, err: error }, 'listener error');
      return;
    }
    const now = performance.now();
    if (now - this.#loggedAt < LOG_INTERVAL_MS) {
      this.#unlogged++;
      return;
    }
    this.#log.warn(
      { address: this.#address, code, since_last_line: this.#unlogged },
      code === 'EMFILE'
        ? 'open-file limit of the process reached: new connections are refused until some close (raise LimitNOFILE / ulimit -n)'
        : 'open-file limit of the system reached: new connections are refused until some close',
    );
    this.#loggedAt = now;
    this.#unlogged = 0;
  }
}
