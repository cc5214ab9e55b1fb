// RouteCache (src/gateway/routes.ts): the remembered lookups answer as apiFor and matchRoute do,
// for paths seen before, long paths (never remembered) and past the number it remembers.

import test from 'ava';
import { apiFor, compile, matchRoute, RouteCache } from '../../src/gateway/routes.ts';
import { parseApiSpec } from '../../src/gateway/spec.ts';

const apis = compile([
  parseApiSpec({
    name: 'shop',
    realm: 'realm1',
    basePath: '/shop',
    routes: [
      { method: 'POST', path: '/orders', call: 'com.shop.order' },
      { method: 'GET', path: '/items/{id}', call: 'com.shop.item', args: ['{path.id}'] },
    ],
  }),
]);

function both(cache: RouteCache, path: string, method: string) {
  const cached = cache.apiFor(path);
  const plain = apiFor(apis, path);
  return {
    cached: cached && cache.match(cached, method),
    plain: plain && matchRoute(plain.api, plain.rest, method),
  };
}

test('remembered lookups give what apiFor and matchRoute give, again and again', (t) => {
  const cache = new RouteCache(apis);
  const cases: [string, string][] = [
    ['/shop/orders', 'POST'],
    ['/shop/orders', 'GET'],
    ['/shop/items/42', 'GET'],
    ['/shop/items/%2e%2e', 'GET'],
    ['/shop/nothing', 'GET'],
    ['/elsewhere', 'GET'],
    [`/shop/items/${'x'.repeat(400)}`, 'GET'],
  ];
  for (let round = 0; round < 2; round++)
    for (const [path, method] of cases) {
      const { cached, plain } = both(cache, path, method);
      t.deepEqual(cached, plain, `${method} ${path}`);
    }
  t.is(both(cache, '/shop/items/42', 'GET').cached?.kind, 'route');
  t.is(both(cache, '/shop/orders', 'GET').cached?.kind, 'method');
  t.is(both(cache, '/shop/items/%2e%2e', 'GET').cached?.kind, 'bad_path');
});

test('past the paths it remembers it starts again and still answers right', (t) => {
  const cache = new RouteCache(apis);
  for (let i = 0; i < 3000; i++) {
    const { cached } = both(cache, `/shop/items/${i}`, 'GET');
    t.true(cached?.kind === 'route' && cached.params.id === String(i));
  }
});

test('past the methods it remembers for a path it starts again and still answers right', (t) => {
  const cache = new RouteCache(apis);
  for (let round = 0; round < 2; round++)
    for (let i = 0; i < 40; i++) {
      const method = i % 2 === 0 ? 'GET' : `M${i}`;
      const { cached, plain } = both(cache, '/shop/items/7', method);
      t.deepEqual(cached, plain, method);
    }
  t.deepEqual(both(cache, '/shop/items/7', 'X'.repeat(40)).cached?.kind, 'method');
});
