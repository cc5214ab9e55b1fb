// Accept errors as a listener reports them: running out of descriptors repeats for every
// client while it lasts, so it is written once per interval with the count held back; other
// errors are written each time. (The integration test, test/hostile/open-file-limit.test.ts,
// covers the usual case where libuv hides EMFILE and the descriptor watch reports it.)

import test from 'ava';
import { createLogger } from '../../src/log.ts';
import { nearLimit } from '../../src/runtime/fd-watch.ts';
import { AcceptErrorLog } from '../../src/transport/accept-errors.ts';

function errno(code: string): Error {
  return Object.assign(new Error(`accept ${code}`), { code, errno: -24, syscall: 'accept' });
}

test('EMFILE and ENFILE are logged once per interval, anything else every time', (t) => {
  const lines: Record<string, unknown>[] = [];
  const log = new AcceptErrorLog(
    createLogger({
      level: 'warn',
      destination: { write: (s) => lines.push(JSON.parse(s) as Record<string, unknown>) },
    }),
    '127.0.0.1:8081',
  );
  for (let i = 0; i < 1000; i++) log.report(errno(i % 2 ? 'EMFILE' : 'ENFILE'));
  t.is(lines.length, 1);
  t.like(lines[0], { level: 'warn', address: '127.0.0.1:8081', code: 'ENFILE', since_last_line: 0 });
  t.regex(String(lines[0]!.msg), /open-file limit of the system reached/);
  log.report(errno('ECONNABORTED'));
  log.report(errno('ECONNABORTED'));
  t.is(lines.length, 3);
  t.like(lines[2], { level: 'error', msg: 'listener error' });
});

test('near the open-file limit: a few descriptors, or 1 %, left', (t) => {
  t.false(nearLimit(59, 64));
  t.true(nearLimit(60, 64));
  t.true(nearLimit(64, 64));
  t.false(nearLimit(65_000, 1_048_576));
  t.true(nearLimit(1_048_576 - 10_000, 1_048_576));
});
