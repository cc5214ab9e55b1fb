// Asynchronous HTTP routes (src/transport/http-exchange.ts) on both HTTP servers, over real
// sockets: body read under limits, late answers, streamed answers, abort when the client goes.

import test from 'ava';
import net from 'node:net';
import { listenHttp } from '../../src/transport/http-server.ts';
import { listenWebSocket } from '../../src/transport/websocket-server.ts';
import {
  ClientGone,
  type ClientSignal,
  type HttpAnswer,
  type HttpRequest,
  type HttpRoute,
  type PendingAnswer,
} from '../../src/transport/http-exchange.ts';
import type { HttpHandler } from '../../src/transport/http-server.ts';
import type { PeerAcceptor } from '../../src/router/peer.ts';

const noPeers: PeerAcceptor = { attach: () => ({ receive() {}, closed() {} }) };
const sync: HttpHandler = (_m, path) => ({
  status: 200,
  headers: { 'Content-Type': 'text/plain' },
  body: `sync ${path}`,
});

interface Probe {
  aborted: number;
  streams: number;
}

const text = (body: string): HttpAnswer => ({ status: 200, headers: { 'Content-Type': 'text/plain' }, body });

/** A PendingAnswer that has its answer now (`later` false) or after a timer. */
function pending(answer: HttpAnswer, later: boolean): PendingAnswer {
  return {
    whenAnswered(onAnswer) {
      if (later) setTimeout(() => onAnswer(answer), 20);
      else onAnswer(answer);
    },
  };
}

function routes(probe: Probe): HttpRoute[] {
  return [
    {
      match: (head) => (head.path.startsWith('/api/') ? { maxBytes: 1000, readTimeoutMs: 300 } : undefined),
      refuse: (why) => ({ status: why === 'body_too_large' ? 413 : 408, headers: {}, body: why }),
      // Answers at once, or as a PendingAnswer, besides the async routes below.
      handle(req, signal) {
        if (req.path === '/api/now') return text(`now ${req.body.toString()}`);
        if (req.path === '/api/pending-now') return pending(text('pending now'), false);
        if (req.path === '/api/pending-later') return pending(text('pending later'), true);
        if (req.path === '/api/throws') throw new Error('route bug');
        return asyncHandle(req, signal, probe);
      },
    },
  ];
}

async function asyncHandle(req: HttpRequest, signal: ClientSignal, probe: Probe): Promise<HttpAnswer> {
  if (req.path === '/api/echo') {
    await new Promise((r) => setTimeout(r, 20));
    return {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        method: req.method,
        query: req.query,
        ct: req.headers['content-type'] ?? null,
        body: req.body.toString(),
        local: req.local,
      }),
    };
  }
  if (req.path === '/api/stream') {
    return {
      status: 200,
      headers: { 'Content-Type': 'application/x-ndjson' },
      stream(sink) {
        probe.streams++;
        let n = 0;
        const t = setInterval(() => {
          if (n < 3) sink.write(`${JSON.stringify({ n: n++ })}\n`);
          else if (req.query === 'forever') sink.write('{}\n');
          else {
            clearInterval(t);
            sink.end();
          }
        }, 10);
        signal.addEventListener('abort', () => {
          clearInterval(t);
          probe.aborted++;
        });
      },
    };
  }
  if (req.path === '/api/hang') {
    return new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => {
        probe.aborted++;
        reject(new Error('aborted'));
      });
    });
  }
  throw new Error('no such');
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Sends raw bytes and collects the answer until the server closes or `ms` pass. */
function raw(port: number, send: (s: net.Socket) => void, ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const t = setTimeout(() => {
      s.destroy();
      resolve(got);
    }, ms);
    s.on('data', (d) => (got += d.toString()));
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
    s.on('error', () => {});
    s.on('connect', () => send(s));
  });
}

const servers = {
  'node:http': async (probe: Probe) => listenHttp({ host: '127.0.0.1', port: 0 }, sync, { routes: routes(probe) }),
  uWS: async (probe: Probe) =>
    listenWebSocket({ host: '127.0.0.1', port: 0 }, noPeers, { http: sync, httpRoutes: routes(probe) }),
};

for (const [name, start] of Object.entries(servers)) {
  test.serial(
    `${name}: a route answers at once, by a PendingAnswer (settled or later), or 500 when it throws`,
    async (t) => {
      const l = await start({ aborted: 0, streams: 0 });
      try {
        const base = `http://127.0.0.1:${l.port}`;
        const post = async (path: string, body = 'x') => {
          const r = await fetch(`${base}${path}`, { method: 'POST', body });
          return [r.status, await r.text()];
        };
        t.deepEqual(await post('/api/now', 'abc'), [200, 'now abc']);
        t.deepEqual(await post('/api/pending-now'), [200, 'pending now']);
        t.deepEqual(await post('/api/pending-later'), [200, 'pending later']);
        t.deepEqual(await post('/api/throws'), [500, 'internal error\n']);
        // A body in two reads (uWS hands over each as its own chunk): the route gets all of it.
        const split = await raw(l.port, (s) => {
          s.write('POST /api/now HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc');
          setTimeout(() => s.write('defghij'), 50);
        });
        t.true(split.startsWith('HTTP/1.1 200') && split.includes('now abcdefghij'), split);
      } finally {
        await l.close();
      }
    },
  );

  test.serial(`${name}: async route reads the body and answers later; sync routes still answer`, async (t) => {
    const probe = { aborted: 0, streams: 0 };
    const l = await start(probe);
    try {
      const base = `http://127.0.0.1:${l.port}`;
      const r = await fetch(`${base}/api/echo?a=1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"x":1}',
      });
      t.is(r.status, 200);
      t.deepEqual(await r.json(), {
        method: 'POST',
        query: 'a=1',
        ct: 'application/json',
        body: '{"x":1}',
        local: true,
      });
      const g = await fetch(`${base}/api/echo`);
      t.is(((await g.json()) as { body: string }).body, '');
      const s = await fetch(`${base}/metrics`);
      t.is(await s.text(), 'sync /metrics');
      const e = await fetch(`${base}/api/throws`);
      t.is(e.status, 500);
    } finally {
      await l.close();
    }
  });

  test.serial(
    `${name}: oversize body -> 413 (declared or streamed), slow body -> 408, connection closed`,
    async (t) => {
      const probe = { aborted: 0, streams: 0 };
      const l = await start(probe);
      try {
        const declared = await raw(l.port, (s) =>
          s.write('POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n'),
        );
        t.regex(declared, /^HTTP\/1\.1 413/);
        const chunked = await raw(l.port, (s) => {
          s.write('POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
          for (let i = 0; i < 20; i++) s.write(`100\r\n${'a'.repeat(256)}\r\n`);
        });
        t.regex(chunked, /^HTTP\/1\.1 413/);
        const started = Date.now();
        const slow = await raw(l.port, (s) =>
          s.write('POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc'),
        );
        t.regex(slow, /^HTTP\/1\.1 408/);
        t.true(Date.now() - started < 1500);
        // The server still serves.
        t.is((await fetch(`http://127.0.0.1:${l.port}/api/echo`)).status, 200);
      } finally {
        await l.close();
      }
    },
  );

  test.serial(`${name}: streamed answer arrives in chunks; client going away aborts`, async (t) => {
    const probe = { aborted: 0, streams: 0 };
    const l = await start(probe);
    try {
      const base = `http://127.0.0.1:${l.port}`;
      const r = await fetch(`${base}/api/stream`);
      t.is(r.headers.get('content-type'), 'application/x-ndjson');
      t.is(await r.text(), '{"n":0}\n{"n":1}\n{"n":2}\n');
      const ac = new AbortController();
      const f = await fetch(`${base}/api/stream?forever`, { signal: ac.signal });
      const reader = f.body!.getReader();
      await reader.read();
      ac.abort();
      await until(() => probe.aborted === 1);
      const hang = new AbortController();
      const p = fetch(`${base}/api/hang`, { signal: hang.signal }).catch(() => 'gone');
      await new Promise((r) => setTimeout(r, 50));
      hang.abort();
      t.is(await p, 'gone');
      await until(() => probe.aborted === 2);
      t.pass();
    } finally {
      await l.close();
    }
  });
}

test('ClientGone: on abort each listener still added runs once, in order; one added after never runs', (t) => {
  const gone = new ClientGone();
  const ran: string[] = [];
  const a = () => ran.push('a');
  const b = () => ran.push('b');
  const c = () => ran.push('c');
  gone.addEventListener('abort', a);
  gone.addEventListener('abort', b);
  gone.addEventListener('abort', c);
  gone.removeEventListener('abort', a);
  gone.removeEventListener('abort', () => ran.push('never added'));
  t.false(gone.aborted);
  gone.abort();
  gone.abort();
  t.true(gone.aborted);
  gone.addEventListener('abort', () => ran.push('late'));
  t.deepEqual(ran, ['b', 'c']);
});
