// The console's recent-errors ring (src/observe/recent-log.ts) behind a real pino logger: what
// it keeps (warnings, errors, failed logins; not other info or debug lines, whatever the log
// level), that it stays bounded, and that secrets never reach it.

import test from 'ava';
import { createLogger } from '../../src/log.ts';
import { RecentLog } from '../../src/observe/recent-log.ts';

function setup(max = 100) {
  const lines: string[] = [];
  const recent = new RecentLog({ max, now: () => 1_000 });
  // Level "error": the warning below is not written, yet the ring keeps it.
  const logger = recent.wrap(createLogger({ level: 'error', destination: { write: (l) => void lines.push(l) } }));
  return { recent, logger, lines };
}

test('keeps warnings, errors and failed logins, with the bindings of child loggers', (t) => {
  const { recent, logger, lines } = setup();
  const mesh = logger.child({ component: 'mesh' });
  mesh.warn({ peer: 'beta', code: 'dead', uptimeMs: 1234 }, 'mesh link down');
  logger.error({ err: new Error('disk full') }, 'event store write failed');
  logger.info({ reason: 'wamp.error.authentication_failed', peer: '127.0.0.1:5000' }, 'ABORT');
  logger.info({ reason: 'wamp.close.normal' }, 'ABORT');
  logger.debug({}, 'noise');
  t.deepEqual(
    recent.entries().map((e) => [e.level, e.msg, e.fields]),
    [
      ['warn', 'mesh link down', { component: 'mesh', peer: 'beta', code: 'dead', uptimeMs: 1234 }],
      ['error', 'event store write failed', { err: 'disk full' }],
      ['info', 'ABORT', { reason: 'wamp.error.authentication_failed', peer: '127.0.0.1:5000' }],
    ],
  );
  t.is(lines.length, 1, 'the logger itself still filters by its level');
  t.regex(lines[0]!, /event store write failed/);
});

test('bounded: the oldest entries go, the total counts them all', (t) => {
  const { recent, logger } = setup(3);
  for (let i = 0; i < 10; i++) logger.warn({ i }, `warning ${i}`);
  t.deepEqual(
    recent.entries().map((e) => e.msg),
    ['warning 7', 'warning 8', 'warning 9'],
  );
  t.is(recent.total, 10);
  logger.warn({ text: 'y'.repeat(10_000), nested: { a: 'z'.repeat(10_000) } }, 'x'.repeat(10_000));
  const last = recent.entries().at(-1)!;
  t.true(last.msg.length <= 300 && String(last.fields.text).length <= 300 && String(last.fields.nested).length <= 300);
});

test('secrets are not kept, at the top level or nested', (t) => {
  const { recent, logger } = setup();
  logger.warn({ password: 'hunter2', details: { ticket: 'secret ticket', user: 'alice' } }, 'login trouble');
  const text = JSON.stringify(recent.entries());
  t.false(text.includes('hunter2'));
  t.false(text.includes('secret ticket'));
  t.true(text.includes('alice'));
});
