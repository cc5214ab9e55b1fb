// What the parts of the gateway share about one request once its API and route are found.

import type { ClientSignal, HttpReply } from '../transport/http-exchange.ts';
import type { Codec } from './codec.ts';
import type { gatewayDefaults } from './defaults.ts';
import type { ErrorContext } from './errors.ts';
import type { Refused } from './identify.ts';
import { errorHttpReply } from './reply.ts';
import type { CompiledApi } from './routes.ts';

export type GatewayLimits = { -readonly [K in keyof typeof gatewayDefaults]: number };

/** Per request: what is known once its API and route are found. */
export interface RequestScope {
  readonly api: CompiledApi;
  readonly codec: Codec;
  readonly cors: Readonly<Record<string, string>>;
  readonly signal: ClientSignal;
  fail(
    uri: string,
    args?: readonly unknown[],
    ctx?: ErrorContext,
    kwargs?: Readonly<Record<string, unknown>>,
  ): HttpReply;
  refused(r: Refused): HttpReply;
}

/** The gateway's RequestScope: one object per request, its answers as methods (no closures). */
export class Scope implements RequestScope {
  readonly api: CompiledApi;
  readonly codec: Codec;
  readonly cors: Readonly<Record<string, string>>;
  readonly signal: ClientSignal;

  constructor(api: CompiledApi, codec: Codec, cors: Readonly<Record<string, string>>, signal: ClientSignal) {
    this.api = api;
    this.codec = codec;
    this.cors = cors;
    this.signal = signal;
  }

  fail(
    uri: string,
    args: readonly unknown[] = [],
    ctx: ErrorContext = {},
    kwargs: Readonly<Record<string, unknown>> = {},
  ): HttpReply {
    return errorHttpReply(this.codec, uri, args, kwargs, ctx, this.cors);
  }

  refused(r: Refused): HttpReply {
    const { spec } = this.api;
    const challenge = {
      realm: spec.realm,
      auth: spec.auth,
      ...(r.bearerError !== undefined && { bearerError: r.bearerError }),
    };
    return errorHttpReply(this.codec, r.refused, [r.message], {}, { challenge }, this.cors);
  }
}
