// The HTTP API gateway: one asynchronous HTTP route (transport/http-exchange.ts) that serves
// every API spec of the node. A request under an API's base path is matched to a route, its
// sender logged in as a WAMP session of the API's realm (identify.ts), and turned into a
// CALL, a PUBLISH, a subscription streamed as server-sent events (sse.ts) or a verified
// webhook publication (webhook.ts). Everything goes through the router like any client's
// traffic: the authorizer, the Dealer and Broker, the mesh.

import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import type { PeerAcceptor } from '../router/peer.ts';
import { Deadlines } from '../net/deadlines.ts';
import { FailureThrottle } from '../security/throttle.ts';
import type {
  BodyLimits,
  ClientSignal,
  HttpAnswer,
  HttpReply,
  HttpRequest,
  HttpRoute,
  PendingAnswer,
} from '../transport/http-exchange.ts';
import type { BearerVerifier } from './bearer.ts';
import { HttpCall } from './call.ts';
import { answerCodec, decodeBody, streamKind } from './codec.ts';
import { corsHeaders, preflight } from './cors.ts';
import { gatewayDefaults } from './defaults.ts';
import { Scope, type GatewayLimits, type RequestScope } from './scope.ts';
import { GatewayErrorUri } from './errors.ts';
import { AnonymousLogins, loginFor, sessionFor, type IdentifyDeps, type Login } from './identify.ts';
import { errorHttpReply, valueReply } from './reply.ts';
import { compile, RouteCache, type CompiledApi } from './routes.ts';
import { SessionPool, type Opened } from './sessions.ts';
import type { ApiSpec, CallRoute, PublishRoute, Route } from './spec.ts';
import { progressive } from './progressive.ts';
import { serveEvents } from './sse.ts';
import { render, renderUri, type TemplateContext } from './template.ts';
import { serveWebhook, WebhookReplays, type WebhookUser } from './webhook.ts';

export interface GatewayOptions {
  readonly acceptor: PeerAcceptor;
  /** The specs to serve now; `version` changes whenever they do (recompiled then). */
  readonly specs: () => { readonly version: number; readonly specs: readonly ApiSpec[] };
  readonly bearer?: BearerVerifier;
  /** A webhook's `as` user: its authrole, or undefined when the realm has no such user. */
  readonly webhookUser?: WebhookUser;
  readonly limits?: Partial<GatewayLimits>;
  readonly logger?: Logger;
}

export class Gateway {
  readonly route: HttpRoute;
  readonly limits: Readonly<GatewayLimits>;
  readonly pool: SessionPool;
  readonly #options: GatewayOptions;
  readonly #deps: IdentifyDeps;
  readonly #replays: WebhookReplays;
  readonly #log: Logger;
  /** The routes' call timeouts. */
  readonly #deadlines = new Deadlines();
  #compiled = { version: -1, routes: new RouteCache([]), limits: new Map<CompiledApi, BodyLimits>() };
  #inFlight = 0;
  #streams = 0;
  #stopping = false;

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.limits = { ...gatewayDefaults, ...options.limits };
    this.#log = (options.logger ?? silentLogger).child({ component: 'gateway' });
    this.pool = new SessionPool(options.acceptor, {
      maxSessions: this.limits.maxSessions,
      idleMs: this.limits.sessionIdleMs,
    });
    this.#deps = {
      pool: this.pool,
      throttle: new FailureThrottle(),
      bearer: options.bearer,
      anonymous: new AnonymousLogins(),
    };
    this.#replays = new WebhookReplays(this.limits.webhookReplayCacheSize);
    this.route = {
      match: (head) => {
        const found = this.#routes().apiFor(head.path);
        return found === undefined ? undefined : this.#compiled.limits.get(found.api);
      },
      refuse: (why, head) => {
        const codec = answerCodec(head.headers.accept);
        return why === 'body_too_large'
          ? errorHttpReply(codec, GatewayErrorUri.PAYLOAD_TOO_LARGE, ['the request body is too large'])
          : errorHttpReply(codec, GatewayErrorUri.REQUEST_TIMEOUT, ['the request body did not arrive in time']);
      },
      handle: (req, signal) => this.#handle(req, signal),
    };
  }

  /** From now on every request is answered 503 (the router is stopping). */
  stop(): void {
    this.#stopping = true;
    this.pool.close();
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get streams(): number {
    return this.#streams;
  }

  /** The specs compiled, with the paths looked up since they last changed. */
  #routes(): RouteCache {
    const { version, specs } = this.#options.specs();
    if (version !== this.#compiled.version) {
      const apis = compile(specs);
      // Each API's body limits, made once: match() answers them for every request.
      const readTimeoutMs = this.limits.bodyReadTimeoutMs;
      const limits = new Map(apis.map((a) => [a, { maxBytes: a.spec.maxBodyBytes, readTimeoutMs }] as const));
      this.#compiled = { version, routes: new RouteCache(apis), limits };
    }
    return this.#compiled.routes;
  }

  #handle(req: HttpRequest, signal: ClientSignal): HttpAnswer | Promise<HttpAnswer> | PendingAnswer {
    const routes = this.#routes();
    const found = routes.apiFor(req.path);
    const codec = answerCodec(req.headers.accept);
    if (found === undefined) return errorHttpReply(codec, GatewayErrorUri.NO_SUCH_ROUTE, ['no API serves this path']);
    const { api } = found;
    const scope = new Scope(api, codec, corsHeaders(api.spec, req.headers.origin), signal);
    if (req.method === 'OPTIONS')
      return preflight(api, found.rest, req.headers) ?? scope.fail(GatewayErrorUri.NO_SUCH_ROUTE, ['no such route']);
    if (this.#stopping) return scope.fail(GatewayErrorUri.UNAVAILABLE, ['the router is stopping']);
    const m = routes.match(found, req.method);
    if (m.kind === 'bad_path') return scope.fail('wamp.error.invalid_argument', ['a path segment is not acceptable']);
    if (m.kind === 'none') return scope.fail(GatewayErrorUri.NO_SUCH_ROUTE, ['no such route']);
    if (m.kind === 'method')
      return errorHttpReply(
        codec,
        GatewayErrorUri.METHOD_NOT_ALLOWED,
        ['method not allowed'],
        {},
        {},
        { ...scope.cors, Allow: m.allowed.join(', ') },
      );
    const route = m.route;
    if ('subscribe' in route) {
      if (this.#streams >= this.limits.maxStreams)
        return scope.fail(GatewayErrorUri.UNAVAILABLE, ['too many event streams open']);
      this.#streams++;
      let released = false;
      const done = (): void => {
        if (released) return;
        released = true;
        this.#streams--;
      };
      return serveEvents(req, scope, route, m.params, this.#deps, this.limits, done).catch((e: unknown) => {
        done();
        throw e;
      });
    }
    if (this.#inFlight >= this.limits.maxInFlight)
      return scope.fail(GatewayErrorUri.UNAVAILABLE, ['too many requests in flight']);
    this.#inFlight++;
    let answer: HttpAnswer | HttpCall | Promise<HttpAnswer>;
    try {
      answer =
        'webhook' in route
          ? serveWebhook(req, scope, route, m.params, this.#deps, {
              replays: this.#replays,
              user: this.#options.webhookUser,
              log: this.#log,
            })
          : this.#action(req, scope, route, m.params);
    } catch (e) {
      this.#inFlight--;
      throw e;
    }
    // A call made at once frees its slot itself, as it settles; one made once the login was
    // done is inside the promise below.
    if (answer instanceof HttpCall) {
      answer.onSettled(this.#release);
      return answer;
    }
    if (!(answer instanceof Promise)) {
      this.#inFlight--;
      return answer;
    }
    return answer.then(this.#released, this.#releasedThrow);
  }

  readonly #release = (): void => {
    this.#inFlight--;
  };

  readonly #released = (a: HttpAnswer): HttpAnswer => {
    this.#inFlight--;
    return a;
  };

  readonly #releasedThrow = (e: unknown): never => {
    this.#inFlight--;
    throw e;
  };

  /**
   * The request's session, then its action. Synchronous as far as it can be: a request without
   * credentials or one whose identity has its session open already (most requests) goes
   * straight to its CALL or PUBLISH, with no promise hop before it.
   */
  #action(
    req: HttpRequest,
    scope: RequestScope,
    route: CallRoute | PublishRoute,
    params: Record<string, string>,
  ): HttpAnswer | HttpCall | Promise<HttpAnswer> {
    const login = loginFor(req, scope.api.spec, this.#deps);
    if (login instanceof Promise) return login.then((l) => promised(this.#loggedIn(req, scope, route, params, l)));
    return this.#loggedIn(req, scope, route, params, login);
  }

  #loggedIn(
    req: HttpRequest,
    scope: RequestScope,
    route: CallRoute | PublishRoute,
    params: Record<string, string>,
    login: Login,
  ): HttpAnswer | HttpCall | Promise<HttpAnswer> {
    if ('refused' in login) return scope.refused(login);
    const open = this.pool.ready(login.key);
    if (open !== undefined) return this.#act(req, scope, route, params, open);
    return sessionFor(login, req, scope.api.spec.realm, this.#deps).then((opened) =>
      'refused' in opened ? scope.refused(opened) : promised(this.#act(req, scope, route, params, opened)),
    );
  }

  #act(
    req: HttpRequest,
    scope: RequestScope,
    route: CallRoute | PublishRoute,
    params: Record<string, string>,
    opened: Exclude<Opened, { abort: string }>,
  ): HttpAnswer | HttpCall | Promise<HttpAnswer> {
    const spec = scope.api.spec;
    const prepared = prepare(req, scope, route, params, opened);
    if ('status' in prepared) return prepared;
    const { uri, args, kwargs } = prepared;
    const session = opened.session;
    if ('publish' in route)
      return session.publish(uri, args, kwargs, route.options).then((p) => {
        if (!p.ok) return scope.fail(p.error, p.args, { statusCodes: [route.statusCodes, spec.statusCodes] }, p.kwargs);
        return valueReply(202, scope.codec, { publication: 'publication' in p ? p.publication : null }, scope.cors);
      });
    const timeoutMs = route.timeoutMs ?? spec.timeoutMs;
    const stream = route.progress ? streamKind(req.headers.accept) : undefined;
    if (stream !== undefined) {
      // A streamed call holds its connection past this request's in-flight slot: it counts as a stream.
      if (this.#streams >= this.limits.maxStreams)
        return scope.fail(GatewayErrorUri.UNAVAILABLE, ['too many streams open']);
      this.#streams++;
      return progressive(
        scope,
        route,
        session,
        { uri, args, kwargs },
        timeoutMs,
        stream,
        this.limits.sseMaxBufferedBytes,
        () => {
          this.#streams--;
        },
      );
    }
    const call = new HttpCall(scope, route, session, timeoutMs);
    call.start(prepared, this.#deadlines);
    return call;
  }
}

/** A call's answer as a promise, where the answer waited for a promise already (a login). */
function promised(a: HttpAnswer | HttpCall | Promise<HttpAnswer>): HttpAnswer | Promise<HttpAnswer> {
  return a instanceof HttpCall ? new Promise((settle) => a.whenAnswered(settle)) : a;
}

/** The URI and payload of the WAMP action, or the 4xx answer when the request cannot make them. */
export function prepare(
  req: HttpRequest,
  scope: RequestScope,
  route: Route & { args?: unknown[] | undefined; kwargs?: Record<string, unknown> | undefined },
  params: Record<string, string>,
  opened: Exclude<Opened, { abort: string }>,
): { uri: string; args: unknown[] | undefined; kwargs: Record<string, unknown> | undefined } | HttpReply {
  const decoded = decodeBody(req.headers['content-type'], req.body);
  if ('unsupported' in decoded)
    return scope.fail(GatewayErrorUri.UNSUPPORTED_MEDIA_TYPE, [
      `unsupported content type ${decoded.unsupported}; send JSON, CBOR or MessagePack`,
    ]);
  if ('malformed' in decoded) return scope.fail('wamp.error.invalid_argument', [decoded.malformed]);
  const uriTemplate = 'call' in route ? route.call : 'publish' in route ? route.publish : '';
  // A route with no templates (the body is the one argument, the URI is fixed) needs no context.
  if (route.args === undefined && route.kwargs === undefined && !uriTemplate.includes('{'))
    return { uri: uriTemplate, args: decoded.value === undefined ? undefined : [decoded.value], kwargs: undefined };
  let query: URLSearchParams | undefined;
  const ctx: TemplateContext = {
    path: params,
    // Parsed only for a template that reads it: most routes never do.
    get query() {
      query ??= new URLSearchParams(req.query);
      return query;
    },
    header: req.headers,
    body: decoded.value,
    caller: { authid: opened.welcome.authid, authrole: opened.welcome.authrole, session: opened.welcome.session },
  };
  const rendered = renderUri(uriTemplate, ctx);
  if ('bad' in rendered)
    return scope.fail('wamp.error.invalid_argument', [
      `{${rendered.bad}} must be one URI component (letters, digits, "_", "-")`,
    ]);
  // Without an args template, the body is the one argument (none when the body is empty).
  const args =
    route.args !== undefined
      ? (render(route.args, ctx) as unknown[])
      : decoded.value === undefined
        ? undefined
        : [decoded.value];
  const kwargs = route.kwargs !== undefined ? (render(route.kwargs, ctx) as Record<string, unknown>) : undefined;
  return { uri: rendered.uri, args, kwargs };
}
