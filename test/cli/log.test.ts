import test from 'ava';
import { createLogger, silentLogger } from '../../src/log.ts';

function collect(level: Parameters<typeof createLogger>[0]['level']) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level,
    destination: { write: (s) => lines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  return { logger, lines };
}

test('JSON lines with a level name, time and message; below the level nothing', (t) => {
  const { logger, lines } = collect('warn');
  logger.info({ a: 1 }, 'hidden');
  logger.debug({}, 'hidden');
  logger.warn({ session: 7 }, 'slow consumer');
  logger.error({}, 'boom');
  t.is(lines.length, 2);
  t.like(lines[0], { level: 'warn', session: 7, msg: 'slow consumer' });
  t.is(typeof lines[0]?.time, 'string');
  t.false('pid' in (lines[0] ?? {}));
  t.like(lines[1], { level: 'error', msg: 'boom' });
});

test('child loggers carry their bindings', (t) => {
  const { logger, lines } = collect('debug');
  logger.child({ realm: 'realm1' }).child({ session: 1 }).debug({ topic: 't' }, 'event');
  t.like(lines[0], { level: 'debug', realm: 'realm1', session: 1, topic: 't' });
});

test('secrets are redacted at the top level and one level down', (t) => {
  const { logger, lines } = collect('info');
  logger.info({ password: 'p', details: { ticket: 't', authid: 'joe' }, extra: { secret: 's', signature: 'sig' } });
  t.like(lines[0], {
    password: '[redacted]',
    details: { ticket: '[redacted]', authid: 'joe' },
    extra: { secret: '[redacted]', signature: '[redacted]' },
  });
  t.false(JSON.stringify(lines).includes('"p"'));
});

test('level silent writes nothing; silentLogger is inert', (t) => {
  const { logger, lines } = collect('silent');
  logger.error({}, 'nope');
  t.is(lines.length, 0);
  silentLogger.child({ a: 1 }).error({}, 'nope');
  t.pass();
});
