// Two listeners of one config on the same address: refused with both fields named. With
// SO_REUSEPORT the kernel would split clients between them; without it the second fails to
// bind, with a message that does not say the config itself holds the clash. Port 0 takes a
// free port each time, so it never clashes; an HTTP listener on a WebSocket listener's address
// is served by that listener's server (README "Metrics and health"), which is no clash either.

import { fieldPath } from './field-names.ts';

interface Address {
  host: string;
  port: number;
}

interface Shape {
  listeners: {
    websocket: readonly Address[];
    rawsocket: readonly Address[];
    mqtt: readonly Address[];
    http: readonly Address[];
    unix: readonly { path: string }[];
  };
  mesh: { enabled: boolean; listen: Address };
}

/** What zod's superRefine context offers that is used here. */
interface Ctx {
  addIssue(issue: { code: 'custom'; message: string; path: (string | number)[] }): void;
}

export function checkDistinctAddresses(c: Shape, ctx: Ctx): void {
  const taken = new Map<string, string>(); // "host port" -> the field that has it
  const wsAddresses = new Set<string>();
  const httpOnWs = new Map<string, string>();
  const clash = (path: (string | number)[], other: string) =>
    ctx.addIssue({
      code: 'custom',
      message: `the same host and port as ${other}: each listener needs an address of its own`,
      path,
    });
  const claim = (a: Address, path: (string | number)[]) => {
    if (a.port === 0) return;
    const key = `${a.host} ${a.port}`;
    const other = taken.get(key);
    if (other !== undefined) clash([...path, 'port'], other);
    else taken.set(key, fieldPath(path));
  };
  const { listeners } = c;
  listeners.websocket.forEach((l, i) => {
    claim(l, ['listeners', 'websocket', i]);
    wsAddresses.add(`${l.host} ${l.port}`);
  });
  listeners.rawsocket.forEach((l, i) => claim(l, ['listeners', 'rawsocket', i]));
  listeners.mqtt.forEach((l, i) => claim(l, ['listeners', 'mqtt', i]));
  if (c.mesh.enabled) claim(c.mesh.listen, ['mesh', 'listen']);
  listeners.http.forEach((l, i) => {
    const key = `${l.host} ${l.port}`;
    if (l.port === 0 || !wsAddresses.has(key)) return claim(l, ['listeners', 'http', i]);
    const other = httpOnWs.get(key);
    if (other !== undefined) clash(['listeners', 'http', i, 'port'], other);
    else httpOnWs.set(key, fieldPath(['listeners', 'http', i]));
  });
  const paths = new Map<string, number>();
  listeners.unix.forEach((u, i) => {
    const first = paths.get(u.path);
    if (first === undefined) paths.set(u.path, i);
    else
      ctx.addIssue({
        code: 'custom',
        message: `the same path as listeners.unix[${first}]: each listener needs a socket of its own`,
        path: ['listeners', 'unix', i, 'path'],
      });
  });
}
