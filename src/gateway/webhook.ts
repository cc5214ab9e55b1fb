// Webhooks in: a POST whose raw body is signed by its sender with a shared secret is published
// as a configured user (whose grants apply). The signature is HMAC-SHA256 over
// "<timestamp>.<raw body>", compared in constant time; the timestamp must be within the
// route's tolerance of this node's clock, and a signature seen before within that window is
// refused as a replay, so a captured request cannot be sent again.

import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Logger } from '../log.ts';
import { parsePeer, throttleKey } from '../security/address.ts';
import type { HttpAnswer, HttpRequest } from '../transport/http-exchange.ts';
import { decodeBody } from './codec.ts';
import { GatewayErrorUri } from './errors.ts';
import type { RequestScope } from './scope.ts';
import { sessionFor, transportOf, type IdentifyDeps } from './identify.ts';
import { valueReply } from './reply.ts';
import type { WebhookRoute } from './spec.ts';
import { renderUri } from './template.ts';

/** A user's authrole in a realm, or undefined when there is no such user (or it is disabled). */
export type WebhookUser = (realm: string, authid: string) => { authrole: string } | undefined;

/** Signatures accepted within their window: a bounded set, oldest forgotten first. */
export class WebhookReplays {
  readonly #max: number;
  readonly #seen = new Map<string, number>();

  constructor(max: number) {
    this.#max = max;
  }

  /** False when `signature` was accepted before and its window is still open. */
  admit(signature: string, expiresAt: number, now: number): boolean {
    const seen = this.#seen.get(signature);
    if (seen !== undefined && seen > now) return false;
    this.#seen.set(signature, expiresAt);
    while (this.#seen.size > this.#max) this.#seen.delete(this.#seen.keys().next().value!);
    return true;
  }
}

export function webhookSignature(secret: string, timestamp: string, body: Uint8Array): string {
  return crypto.createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

function secretOf(route: WebhookRoute): string | undefined {
  if (route.webhook.secret !== undefined) return route.webhook.secret;
  try {
    return fs.readFileSync(route.webhook.secretFile!, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export async function serveWebhook(
  req: HttpRequest,
  scope: RequestScope,
  route: WebhookRoute,
  params: Record<string, string>,
  deps: IdentifyDeps,
  ctx: { replays: WebhookReplays; user: WebhookUser | undefined; log: Logger; now?: () => number },
): Promise<HttpAnswer> {
  const spec = scope.api.spec;
  const w = route.webhook;
  const address = throttleKey(parsePeer(req.remote), req.remote);
  if (!deps.throttle.allowed(address))
    return scope.fail(GatewayErrorUri.TOO_MANY_REQUESTS, [
      'too many failed attempts from this address; try again later',
    ]);
  const refuse = (why: string): HttpAnswer => {
    deps.throttle.failed(address);
    return scope.fail('wamp.error.authentication_failed', [why], {}, {});
  };
  const secret = secretOf(route);
  if (secret === undefined) {
    ctx.log.error({ api: spec.name, file: w.secretFile }, 'webhook: cannot read the secret file');
    return scope.fail(GatewayErrorUri.UNAVAILABLE, ['the webhook is not configured on this node']);
  }
  const timestamp = req.headers[w.timestampHeader.toLowerCase()];
  const given = req.headers[w.signatureHeader.toLowerCase()];
  if (timestamp === undefined || given === undefined) return refuse('signature or timestamp missing');
  const now = (ctx.now ?? Date.now)();
  const ts = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) * 1000 : Number.NaN;
  if (!(Math.abs(now - ts) <= w.toleranceSec * 1000)) return refuse('timestamp outside the accepted window');
  const hex = given.startsWith('sha256=') ? given.slice(7) : given;
  const expected = Buffer.from(webhookSignature(secret, timestamp, req.body), 'hex');
  const actual = /^[0-9a-fA-F]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : Buffer.alloc(expected.length);
  if (!crypto.timingSafeEqual(expected, actual) || hex.length !== 64) return refuse('bad signature');
  if (!ctx.replays.admit(hex.toLowerCase(), ts + w.toleranceSec * 1000, now))
    return scope.fail(GatewayErrorUri.REPLAYED, ['this request was delivered before']);
  const user = ctx.user?.(spec.realm, w.as);
  if (user === undefined) {
    ctx.log.error({ api: spec.name, as: w.as }, 'webhook: the user to publish as does not exist in the realm');
    return scope.fail(GatewayErrorUri.UNAVAILABLE, ['the webhook is not configured on this node']);
  }
  const topic = renderUri(w.topic, {
    path: params,
    query: new URLSearchParams(req.query),
    header: req.headers,
    body: undefined,
    caller: { authid: w.as, authrole: user.authrole, session: 0 },
  });
  if ('bad' in topic) return scope.fail('wamp.error.invalid_argument', [`{${topic.bad}} must be one URI component`]);
  // The body as sent: parsed when it is JSON, CBOR or MessagePack, else its text.
  const decoded = decodeBody(req.headers['content-type'], req.body);
  const body = 'value' in decoded ? decoded.value : req.body.toString('utf8');
  const info = { ...transportOf(req), asserted: { authid: w.as, authrole: user.authrole, authmethod: 'webhook' } };
  const opened = await sessionFor(
    { key: `webhook|${spec.realm}|${w.as}|${user.authrole}`, credentials: { kind: 'asserted' }, info },
    req,
    spec.realm,
    deps,
  );
  if ('refused' in opened) return scope.refused(opened);
  const p = await opened.session.publish(topic.uri, body === undefined ? [] : [body], undefined, {});
  if (!p.ok) return scope.fail(p.error, p.args, {}, p.kwargs);
  return valueReply(202, scope.codec, { publication: 'publication' in p ? p.publication : null }, scope.cors);
}
