// API spec validation (src/gateway/spec.ts, src/gateway/template.ts): what is refused names the
// field; templates cannot reach beyond the request, nor URIs beyond one component per value.

import test from 'ava';
import { parseApiSpec } from '../../src/gateway/spec.ts';
import { render, renderUri, type TemplateContext } from '../../src/gateway/template.ts';

const base = {
  name: 'a',
  realm: 'com.x',
  basePath: '/api',
  routes: [{ method: 'POST', path: '/items/{id}', call: 'com.x.item.{path.id}' }],
};

test('a valid spec gets its defaults', (t) => {
  const s = parseApiSpec(base);
  t.deepEqual(s.auth, ['bearer', 'basic', 'anonymous']);
  t.is(s.timeoutMs, 10_000);
  t.is(s.maxBodyBytes, 1024 * 1024);
  t.like(s.routes[0], { result: 'wamp', progress: false, options: {}, statusCodes: {} });
});

const refused: [string, unknown, string, RegExp][] = [
  ['unknown field', { ...base, extra: 1 }, 'extra', /unknown field/],
  ['bad base path', { ...base, basePath: '/api/../x' }, 'basePath', /segments/],
  ['parameter in the base path', { ...base, basePath: '/{x}' }, 'basePath', /no parameters/],
  ['route without a kind', { ...base, routes: [{ method: 'GET', path: '/' }] }, 'routes[0]', /exactly one/],
  [
    'route with two kinds',
    { ...base, routes: [{ method: 'GET', path: '/', call: 'a.b', publish: 'a.b' }] },
    'routes[0]',
    /exactly one/,
  ],
  [
    'body in a URI',
    { ...base, routes: [{ method: 'POST', path: '/', call: 'com.x.{body.a}' }] },
    'routes[0].call',
    /only \{path\.x\}/,
  ],
  [
    'wamp. URI',
    { ...base, routes: [{ method: 'POST', path: '/', call: 'wamp.session.kill_all' }] },
    'routes[0].call',
    /belong to the router/,
  ],
  [
    'unknown reference',
    { ...base, routes: [{ method: 'POST', path: '/', call: 'a.b', args: ['{env.HOME}'] }] },
    'routes[0].args[0]',
    /unknown reference/,
  ],
  [
    'subscribe by POST',
    { ...base, routes: [{ method: 'POST', path: '/', subscribe: 'a.b' }] },
    'routes[0].method',
    /GET/,
  ],
  [
    'webhook without secret',
    { ...base, routes: [{ method: 'POST', path: '/', webhook: { topic: 'a.b', as: 'u' } }] },
    'routes[0].webhook',
    /exactly one of "secret", "secretFile"/,
  ],
  [
    'short webhook secret',
    { ...base, routes: [{ method: 'POST', path: '/', webhook: { topic: 'a.b', as: 'u', secret: 'short' } }] },
    'routes[0].webhook.secret',
    /16/,
  ],
  [
    'shadowing routes',
    {
      ...base,
      routes: [
        { method: 'GET', path: '/i/{a}', call: 'a.b' },
        { method: 'GET', path: '/i/{b}', call: 'a.c' },
      ],
    },
    'routes[1].path',
    /a second route/,
  ],
  ['bad status', { ...base, statusCodes: { 'com.x.e': 200 } }, 'statusCodes.com.x.e', /400|greater/],
];

for (const [what, spec, field, problem] of refused) {
  test(`refused: ${what}, naming ${field}`, (t) => {
    const e = t.throws(() => parseApiSpec(spec, '')) as unknown as { field: string; problem: string; uri: string };
    t.is(e.uri, 'wamp.error.invalid_argument');
    t.is(e.field, field);
    t.regex(e.problem, problem);
  });
}

const ctx: TemplateContext = {
  path: { id: 'n1', evil: '../wamp' },
  query: new URLSearchParams('q=x&n=2'),
  header: { 'x-a': 'h' },
  body: { a: { b: [1, 2] }, s: 'str' },
  caller: { authid: 'alice', authrole: 'user', session: 7 },
};

test('templates: whole references keep their type, embedded ones become text, absent is null', (t) => {
  t.deepEqual(render(['{body.a}', '{path.id}', 'id={path.id}&q={query.q}', '{body.nope}', '{caller.session}'], ctx), [
    { b: [1, 2] },
    'n1',
    'id=n1&q=x',
    null,
    7,
  ]);
  t.deepEqual(render({ who: '{caller.authid}', h: '{header.x-a}', all: '{body}' }, ctx), {
    who: 'alice',
    h: 'h',
    all: { a: { b: [1, 2] }, s: 'str' },
  });
  // No walking up the prototype chain.
  t.is(render('{body.constructor}', ctx), null);
});

test('URI templates take one component per value, never a path', (t) => {
  t.deepEqual(renderUri('com.x.item.{path.id}', ctx), { uri: 'com.x.item.n1' });
  t.deepEqual(renderUri('com.x.item.{path.evil}', ctx), { bad: 'path.evil' });
  t.deepEqual(renderUri('com.x.item.{query.missing}', ctx), { bad: 'query.missing' });
});
