// What the parts of the gateway share about one request once its API and route are found.

import type { ClientSignal, HttpReply } from '../transport/http-exchange.ts';
import type { Codec } from './codec.ts';
import type { gatewayDefaults } from './defaults.ts';
import type { ErrorContext } from './errors.ts';
import type { Refused } from './identify.ts';
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
