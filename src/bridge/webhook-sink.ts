// An HTTP endpoint as a bridge's remote side: each event is POSTed as JSON, signed with
// HMAC-SHA256 over the body (X-Wampmesh-Signature: sha256=<hex>), and confirmed by a 2xx.
// 408, 429 and 5xx, timeouts and network errors are retried; any other status is a refusal
// retrying cannot change (the event becomes a dead letter). Redirects are not followed: a
// signed body is meant for the URL configured.

import crypto from 'node:crypto';
import { readBridgeFile, type WebhookBridgeConfig } from './config.ts';
import { decodeEvent, webhookBody } from './event-payload.ts';
import { PermanentRefusal, type Sink } from './forwarder.ts';
import type { OutboxEntry } from './outbox.ts';

export class WebhookSink implements Sink {
  readonly ready = true;
  readonly #config: WebhookBridgeConfig;
  readonly #secret: Buffer | undefined;

  constructor(config: WebhookBridgeConfig) {
    this.#config = config;
    this.#secret =
      config.hmacSecretFile === undefined
        ? undefined
        : Buffer.from(readBridgeFile(config.name, 'hmacSecretFile', config.hmacSecretFile).toString('utf8').trim());
  }

  async send(entry: OutboxEntry): Promise<void> {
    const body = webhookBody(this.#config.realm, entry.topic, decodeEvent(entry.payload));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-wampmesh-bridge': this.#config.name,
      // The same on every attempt: a receiver can drop duplicates by it.
      'x-wampmesh-event': String(decodeEvent(entry.payload).publication),
    };
    if (this.#secret !== undefined)
      headers['x-wampmesh-signature'] =
        `sha256=${crypto.createHmac('sha256', this.#secret).update(body).digest('hex')}`;
    let response: Response;
    try {
      response = await fetch(this.#config.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#config.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      throw new Error(`POST ${this.#config.url}: ${(err as Error).message}${cause ? ` (${cause})` : ''}`);
    }
    // The body is not needed; reading it to the end would let a slow server hold the bridge.
    await response.body?.cancel().catch(() => {});
    const status = response.status;
    if (status >= 200 && status < 300) return;
    const message = `POST ${this.#config.url}: HTTP ${status}`;
    if (status === 408 || status === 429 || status >= 500) throw new Error(message);
    throw new PermanentRefusal(message);
  }

  reset(): void {}
}
