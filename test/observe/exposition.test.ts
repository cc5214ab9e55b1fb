// The text format writer and the counters' small pure parts.

import test from 'ava';
import { Exposition } from '../../src/observe/exposition.ts';
import { callOutcome, CALL_OUTCOMES, Histogram, transportIndex, TRANSPORTS } from '../../src/router/metrics.ts';

test('label values and help text are escaped as the format requires', (t) => {
  const text = new Exposition()
    .family('x_total', 'counter', 'a \\ b\nc')
    .sample('x_total', 1, { peer: 'a"b\\c\nd' })
    .text();
  t.is(text, '# HELP x_total a \\\\ b\\nc\n# TYPE x_total counter\nx_total{peer="a\\"b\\\\c\\nd"} 1\n');
});

test('a family written twice is a bug, not a second HELP line', (t) => {
  const out = new Exposition().family('x', 'gauge', 'h');
  t.throws(() => out.family('x', 'gauge', 'h'), { message: /written twice/ });
});

test('histogram buckets are cumulative, with +Inf, sum and count', (t) => {
  const h = new Histogram([0.1, 1]);
  for (const v of [0.05, 0.1, 0.5, 2]) h.observe(v);
  const lines = new Exposition()
    .histogram('d_seconds', 'h', h)
    .text()
    .split('\n')
    .filter((l) => !l.startsWith('#') && l !== '');
  t.deepEqual(lines, [
    'd_seconds_bucket{le="0.1"} 2',
    'd_seconds_bucket{le="1"} 3',
    'd_seconds_bucket{le="+Inf"} 4',
    'd_seconds_sum 2.65',
    'd_seconds_count 4',
  ]);
});

test('call outcomes and transports map onto fixed label values', (t) => {
  const outcome = (uri: string) => CALL_OUTCOMES[callOutcome(uri)];
  t.is(outcome('wamp.error.canceled'), 'canceled');
  t.is(outcome('wamp.error.timeout'), 'timeout');
  t.is(outcome('wamp.error.no_such_procedure'), 'no_such_procedure');
  t.is(outcome('wamp.error.not_authorized'), 'not_authorized');
  t.is(outcome('wamp.error.payload_size_exceeded'), 'failed');
  t.is(outcome('com.example.error.out_of_paper'), 'error');
  t.is(TRANSPORTS[transportIndex('websocket')], 'websocket');
  t.is(TRANSPORTS[transportIndex('carrier-pigeon')], 'other');
});
