// Subscribe routes: a GET that opens a WAMP subscription of its own (under the requester's
// grants) and streams its events as server-sent events. The event id is the publication ID;
// a client that reconnects with Last-Event-ID gets what it missed from the realm's history
// (wamp.subscription.get_events, where a history rule covers the topic). A client that does
// not read is cut off like a slow WebSocket subscriber: the router's slow-consumer rules see
// the stream's unwritten bytes as the session's, and past sseMaxBufferedBytes the stream ends.

import type { HttpAnswer, HttpRequest, HttpStreamSink } from '../transport/http-exchange.ts';
import { jsonText } from '../serializers/index.ts';
import type { WampEvent } from './client.ts';
import { unencodable } from './reply.ts';
import type { GatewayLimits, RequestScope } from './scope.ts';
import { loginFor, sessionFor, type IdentifyDeps } from './identify.ts';
import type { SubscribeRoute } from './spec.ts';
import { renderUri } from './template.ts';

/** Answers the request; calls `done` once, when whatever it answered is over. */
export async function serveEvents(
  req: HttpRequest,
  scope: RequestScope,
  route: SubscribeRoute,
  params: Record<string, string>,
  deps: IdentifyDeps,
  limits: GatewayLimits,
  done: () => void,
): Promise<HttpAnswer> {
  const spec = scope.api.spec;
  // `done` once: when the stream ends, when the answer is an error, or when the client is gone
  // (a client gone before the stream started never gets stream() called).
  let over = false;
  const finish = (): void => {
    if (over) return;
    over = true;
    done();
  };
  const fail = (reply: HttpAnswer): HttpAnswer => {
    finish();
    return reply;
  };
  const topic = renderUri(route.subscribe, {
    path: params,
    query: new URLSearchParams(req.query),
    header: req.headers,
    body: undefined,
    caller: { authid: '', authrole: '', session: 0 },
  });
  if ('bad' in topic)
    return fail(scope.fail('wamp.error.invalid_argument', [`{${topic.bad}} must be one URI component`]));
  const login = await loginFor(req, spec, deps);
  if ('refused' in login) return fail(scope.refused(login));
  let buffered = (): number => 0;
  const opened = await sessionFor(login, req, spec.realm, deps, (l) =>
    deps.pool.dedicated(spec.realm, l.info, l.credentials, () => buffered()),
  );
  if ('refused' in opened) return fail(scope.refused(opened));
  const session = opened.session;
  let sink: HttpStreamSink | undefined;
  let overflowed = false;
  // Events that arrive while the history is read, sent after it (without the ones it held).
  let held: WampEvent[] | undefined = [];
  const sent = new Set<number>();
  const write = (e: WampEvent): void => {
    if (sink === undefined) return;
    sink.write(`id: ${e.publication}\n${eventData(e)}\n\n`);
    if (sink.bufferedAmount() > limits.sseMaxBufferedBytes) {
      overflowed = true;
      session.close();
    }
  };
  const sub = await session.subscribe(topic.uri, route.match, (e) => {
    if (held !== undefined) held.push(e);
    else write(e);
  });
  if (!sub.ok || !('subscription' in sub)) {
    session.close();
    const e = sub as { error: string; args: readonly unknown[]; kwargs: Readonly<Record<string, unknown>> };
    return fail(scope.fail(e.error, e.args, {}, e.kwargs));
  }
  if (scope.signal.aborted) {
    session.close();
    return fail(scope.fail('wamp.error.canceled', ['the client went away']));
  }
  const lastId = req.headers['last-event-id'];
  scope.signal.addEventListener('abort', () => {
    session.close();
    finish();
  });
  return {
    status: 200,
    headers: {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      ...scope.cors,
    },
    stream(s) {
      sink = s;
      buffered = () => s.bufferedAmount();
      const heartbeat = setInterval(() => s.write(': heartbeat\n\n'), route.heartbeatSec * 1000);
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        session.close();
        // A client too slow to read would not read the end either: cut it off. Not from here:
        // this runs inside the router's dispatch (an EVENT, a GOODBYE), and closing the
        // connection re-enters uWS and the core from within it.
        const cut = overflowed || s.bufferedAmount() > limits.sseMaxBufferedBytes;
        setImmediate(() => (cut ? s.destroy() : s.end()));
        finish();
      };
      session.onClosed(end);
      scope.signal.addEventListener('abort', end);
      // Tells EventSource how soon to come back if the stream ends.
      s.write('retry: 2000\n\n');
      const flush = (): void => {
        const pending = held ?? [];
        held = undefined;
        for (const e of pending) if (!sent.has(e.publication)) write(e);
        sent.clear();
      };
      if (lastId === undefined || !/^\d{1,16}$/.test(lastId)) return flush();
      const last = Number(lastId);
      const history = session.call(
        'wamp.subscription.get_events',
        [sub.subscription, limits.sseReplayMax],
        undefined,
        {},
      );
      void history.result.then((o) => {
        const kept = o.ok && Array.isArray(o.args[0]) ? (o.args[0] as Record<string, unknown>[]) : [];
        const at = kept.findIndex((e) => e.publication === last);
        // An ID the history no longer holds: everything it holds is newer or unknown; send it all.
        for (const e of kept.slice(at + 1)) {
          const ev: WampEvent = {
            publication: Number(e.publication),
            topic: String(e.topic ?? ''),
            args: Array.isArray(e.args) ? e.args : [],
            kwargs: (e.kwargs as Record<string, unknown> | undefined) ?? {},
          };
          sent.add(ev.publication);
          write(ev);
        }
        flush();
      });
    },
  };
}

/**
 * An event's `data:` line (with an `event:` line before it for a failure). JSON with the
 * router's conventions (integers beyond 2^53 exact, binary as "\0" + base64), as the gateway's
 * other answers. This runs inside the broker's delivery of the publication: a value this
 * stream cannot carry (nesting deeper than the encoder's stack) is an `unencodable` event on
 * this stream alone (not `error`, which EventSource takes for its own connection errors),
 * with the publication's ID so Last-Event-ID moves past it; never a throw, which would reach
 * the publisher.
 */
function eventData(e: WampEvent): string {
  try {
    return `data: ${jsonText({ topic: e.topic, args: e.args, kwargs: e.kwargs })}`;
  } catch (error) {
    const failure = unencodable('the event cannot be written as JSON', error, { topic: e.topic });
    return `event: unencodable\ndata: ${jsonText(failure)}`;
  }
}
