// Field types shared by the sections of the configuration file. Each section's schema is built
// by a function, called when a file is parsed: schemas kept at module level would stay in the
// heap for the router's life (BENCHMARKS.md, start-up and idle footprint).

import { z } from 'zod';
import { isHost } from './host.ts';

export function intIn(min: number, max: number) {
  const error = `expected integer ${min}..${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

export const port = () => intIn(0, 65535); // 0 asks the OS for a free port (tests); the actual one is printed.
export const host = () => z.string().refine(isHost, { error: 'expected an IP address or host name' });
