// What the router announces in WELCOME, checked on the wire against src/router/features.ts,
// and the suite's own completeness: every announced feature is exercised by at least one test
// of test/advanced/ (a test title tagged "[feature_name]").

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { routerRoles } from '../../src/router/features.ts';
import { T, fullRoles, plainRoles, rawJoin, type Dict } from './support/raw.ts';
import { configWithRealms, launchRouter, type RunningRouter } from './support/router.ts';

let router: RunningRouter | undefined;
test.before(async () => {
  router = await launchRouter(configWithRealms([{ uri: 'features' }]));
});
test.after.always(async () => {
  await router?.stop();
});

const combos = [
  ['websocket', 'json'],
  ['websocket', 'msgpack'],
  ['websocket', 'cbor'],
  ['rawsocket', 'json'],
  ['rawsocket', 'msgpack'],
  ['rawsocket', 'cbor'],
] as const;

test('WELCOME.Details.roles announces exactly the features of src/router/features.ts, on every transport and serializer', async (t) => {
  const expected = JSON.parse(JSON.stringify(routerRoles)) as Dict;
  for (const [i, [transport, serializer]] of combos.entries()) {
    // Alternate what the client announces: the router's announcement must not depend on it.
    const p = await rawJoin(router!, {
      realm: 'features',
      transport,
      serializer,
      roles: i % 2 === 0 ? fullRoles : plainRoles,
    });
    t.is(p.welcome[0], T.WELCOME);
    t.deepEqual((p.welcome[2] as Dict).roles, expected, `${transport}/${serializer}`);
    await p.c.destroy();
  }
});

/** "[feature]" tags in the titles of this folder's tests, by feature. */
function featureTags(): Map<string, string[]> {
  const dir = fileURLToPath(new URL('./', import.meta.url));
  const tags = new Map<string, string[]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.test.ts'))) {
    const source = readFileSync(dir + file, 'utf8');
    // test('title', ...) / test(`title`, ...); titles are single literals in this suite.
    for (const m of source.matchAll(/\btest\(\s*(['`])((?:\\.|(?!\1)[^\\])*)\1/g)) {
      const title = m[2]!;
      for (const tag of title.matchAll(/\[([a-z_]+)\]/g)) {
        const list = tags.get(tag[1]!) ?? [];
        list.push(`${file}: ${title}`);
        tags.set(tag[1]!, list);
      }
    }
  }
  return tags;
}

test('every feature announced in WELCOME is exercised by a test of this suite, and every tag names an announced feature', (t) => {
  const announced = new Set([...Object.keys(routerRoles.broker.features), ...Object.keys(routerRoles.dealer.features)]);
  const tags = featureTags();
  const untested = [...announced].filter((f) => !tags.has(f));
  t.deepEqual(untested, [], 'announced features without a test tagged with them');
  const unknown = [...tags.keys()].filter((tag) => !announced.has(tag));
  t.deepEqual(unknown, [], 'tags naming features the router does not announce (typo, or a feature withdrawn)');
  t.log(
    [...announced]
      .sort()
      .map((f) => `${f}: ${tags.get(f)?.length ?? 0} tests`)
      .join('\n'),
  );
});
