// Regressions the config fuzz (config-fuzz.test.ts) found, each pinned on one input so that it
// stays fixed whatever the fuzz's seeds happen to reach.

import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCommandLine } from '../../src/cli/args.ts';
import { StartError, UsageError } from '../../src/cli/errors.ts';
import { startServer } from '../../src/cli/serve.ts';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import type { Logger } from '../../src/log.ts';

test('regression: a config file with a byte order mark loads; a JSON mistake and odd keys stay on one line per problem', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-config-fuzz-'));
  try {
    const bom = path.join(dir, 'bom.json');
    fs.writeFileSync(bom, `\ufeff${JSON.stringify({ logLevel: 'info' })}`);
    t.is(loadConfig(bom).logLevel, 'info');
    // V8 quotes the text around a syntax error, line breaks and all.
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{\n  "logLevel": info\n}\n');
    const syntax = t.throws(() => loadConfig(broken), { instanceOf: ConfigError });
    t.is(syntax.message.split('\n').length, 1, syntax.message);
    t.regex(syntax.message, /^.*broken\.json: not valid JSON: .*\\n/);
    // A key is named as written, control characters escaped, an empty one as "".
    const keys = path.join(dir, 'keys.json');
    fs.writeFileSync(keys, JSON.stringify({ limits: { 'a\nb': 1, '\u001b[2J': 2 }, '': 3 }));
    const odd = t.throws(() => loadConfig(keys), { instanceOf: ConfigError });
    t.deepEqual(odd.issues.map((i) => i.field).sort(), ['""', 'limits.\\u001b[2J', 'limits.a\\nb'].sort());
    t.is(odd.message.split('\n').length, 3, odd.message);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('regression: an unknown short option in a group is named as typed', (t) => {
  // parseArgs reads "-V=1" as -V, -= and -1, and named '-='.
  t.throws(() => parseCommandLine(['-V=1']), { instanceOf: UsageError, message: "unknown option '-V=1'" });
  t.throws(() => parseCommandLine(['serve', '-hx']), { instanceOf: UsageError, message: "unknown option '-hx'" });
  t.throws(() => parseCommandLine(['serve', '--frob=1']), {
    instanceOf: UsageError,
    message: "unknown option '--frob'",
  });
});

test('regression: a data folder under /proc fails at once instead of hanging', async (t) => {
  t.timeout(10_000);
  // Node's recursive mkdir retried forever at full CPU on /proc's ENOENT.
  const error = await t.throwsAsync(
    startServer(
      {
        ...loadConfig(),
        dataDir: '/proc/wampmesh-regression/data',
        listeners: { websocket: [], rawsocket: [], unix: [], http: [], mqtt: [] },
      },
      silent,
    ),
    { instanceOf: StartError },
  );
  t.regex(error.message, /cannot create data folder \/proc\/wampmesh-regression\/data: ENOENT/);
});

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};
