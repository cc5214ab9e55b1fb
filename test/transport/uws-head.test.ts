// The head of a uWS request as the HTTP routes get it (src/transport/uws-head.ts), from stand-ins
// for uWS's request and response: headers joined as RFC 9110 says, the method in upper case, the
// client's address as text in each form uWS gives it, remembered or not.

import test from 'ava';
import type uWS from '@btc-vision/uwebsockets.js';
import { uwsHead } from '../../src/transport/uws-head.ts';

function head(method: string, headers: [string, string][], octets: number[]) {
  const req = {
    getCaseSensitiveMethod: () => method,
    getUrl: () => '/a/b',
    getQuery: () => undefined,
    forEach: (cb: (k: string, v: string) => void) => {
      for (const [k, v] of headers) cb(k, v);
    },
  } as unknown as uWS.HttpRequest;
  const res = { getRemoteAddress: () => Uint8Array.from(octets).buffer } as unknown as uWS.HttpResponse;
  return uwsHead(res, req);
}

const mapped = (a: number, b: number, c: number, d: number): number[] => [...Array(10).fill(0), 255, 255, a, b, c, d];

test('headers by name, a repeated one joined; the method in upper case', (t) => {
  const h = head(
    'post',
    [
      ['host', 'x'],
      ['accept', 'a/b'],
      ['x-custom', '1'],
      ['accept', 'c/d'],
      ['x-custom', '2'],
    ],
    [127, 0, 0, 1],
  );
  t.deepEqual(h.headers, { host: 'x', accept: 'a/b, c/d', 'x-custom': '1, 2' });
  t.is(h.method, 'POST');
  t.is(head('GET', [], [127, 0, 0, 1]).method, 'GET');
  t.is(head('M-Search', [], [127, 0, 0, 1]).method, 'M-SEARCH');
  t.is(head('host', [], [127, 0, 0, 1]).method, 'HOST', 'a header name is no method');
  t.like(h, { path: '/a/b', query: '' });
});

test('the address as text and whether it is loopback, in each form, seen before or not', (t) => {
  for (let round = 0; round < 2; round++) {
    t.like(head('GET', [], [127, 0, 0, 1]), { remote: '127.0.0.1', local: true });
    t.like(head('GET', [], [10, 1, 2, 3]), { remote: '10.1.2.3', local: false });
    t.like(head('GET', [], [255, 255, 255, 254]), { remote: '255.255.255.254', local: false });
    t.like(head('GET', [], mapped(127, 0, 0, 2)), { remote: '127.0.0.2', local: true });
    t.like(head('GET', [], mapped(192, 168, 0, 1)), { remote: '192.168.0.1', local: false });
    t.like(head('GET', [], [...Array(15).fill(0), 1]), { remote: '::1', local: true });
    t.like(head('GET', [], [0x20, 1, 0xd, 0xb8, ...Array(11).fill(0), 1]), { remote: '2001:db8::1', local: false });
  }
});

test('addresses remembered are bounded: past 1,024 the text is made again, the same', (t) => {
  for (let i = 0; i < 1100; i++) {
    const h = head('GET', [], [10, 9, i >> 8, i & 255]);
    if (h.remote !== `10.9.${i >> 8}.${i & 255}`) t.fail(h.remote);
  }
  t.like(head('GET', [], [10, 9, 0, 5]), { remote: '10.9.0.5', local: false });
});
