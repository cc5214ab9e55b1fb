// `serve`'s MQTT endpoints, loaded only when the config has an MQTT listener (over TCP or over
// WebSocket): persistent sessions, the resume tokens that let kept sessions rejoin at start
// without their clients, one session registry for every endpoint, and the listeners.

import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { listenMqtt } from '../mqtt/listener.ts';
import { MqttSessionStore } from '../mqtt/persistence.ts';
import { ResumeTokens, resumingAuthenticator } from '../mqtt/resume.ts';
import type { SessionRegistry } from '../mqtt/session.ts';
import { addMqttRoute } from '../mqtt/websocket.ts';
import type { Authenticator } from '../router/auth.ts';
import type { RealmConfig } from '../router/realm.ts';
import type { Router } from '../router/router.ts';
import type { Security } from '../security/index.ts';
import type { Db } from '../store/database.ts';
import { PreAuthBudget } from '../transport/pre-auth-budget.ts';
import type { WebSocketOptions } from '../transport/websocket-server.ts';
import { listen, type ListenContext, type ListenerInfo } from './listening.ts';
import { loadListenerTls, summary } from './tls-listeners.ts';

export interface MqttEndpoints {
  /** The router's authenticator, which also admits the kept sessions rejoining. */
  readonly authenticator: Authenticator;
  /** The MQTT route of a WebSocket listener with `mqtt` set. */
  route(
    mq: NonNullable<Config['listeners']['websocket'][number]['mqtt']>,
    router: Router,
  ): NonNullable<WebSocketOptions['routes']>;
  /** Opens the MQTT listeners of the config. */
  listen(ctx: ListenContext): Promise<void>;
}

export function mqttEndpoints(
  config: Config,
  db: Db,
  security: Security,
  storeRealms: readonly RealmConfig[],
  logger: Logger,
): MqttEndpoints {
  // Persistent MQTT sessions, and the way the kept ones rejoin at start without their clients.
  const mqttSessions = new MqttSessionStore(db, (err, writes) =>
    logger.error({ err: err.message, writes }, 'mqtt: cannot write the persistent-session queue'),
  );
  const mqttResume = new ResumeTokens();
  const authenticator = resumingAuthenticator(security.authenticator, mqttResume, (realm, identity) => {
    if (identity.authmethod === 'anonymous')
      return realm.anonymous ? identity : { refused: `realm '${realm.uri}' no longer admits anonymous sessions` };
    if (!storeRealms.some((r) => r.uri === realm.uri)) return { refused: `no user store for '${realm.uri}'` };
    const user = security.store.getUser(realm.uri, identity.authid);
    if (user === undefined || user.disabled === true)
      return { refused: `user '${identity.authid}' no longer exists or is disabled` };
    return { ...identity, authrole: user.authrole };
  });
  const { limits } = config;
  // One registry for every MQTT endpoint: a client identity is one session wherever it connects.
  const mqttRegistry: SessionRegistry = new Map();
  // Strangers on the MQTT TCP listeners, all together (README "Limits before login"): a budget
  // of their own, as each transport kind has, so that they cannot leave WAMP logins without room.
  const preAuthBudget = new PreAuthBudget({
    limitBytes: limits.preAuthBufferBytes,
    perAddress: limits.preAuthConnectionsPerAddress,
    logger: logger.child({ transport: 'mqtt' }),
  });
  return {
    authenticator,
    route:
      (mq, router) =>
      (...[app, admission]) =>
        addMqttRoute(
          app,
          mq.path,
          router,
          {
            realm: mq.realm,
            connectTimeoutMs: limits.handshakeTimeoutMs,
            preAuthMaxPacketBytes: limits.preAuthMaxMessageSize,
            sessions: mqttSessions,
            resume: mqttResume,
            logger,
          },
          mqttRegistry,
          admission,
        ),
    async listen({ router, tlsListeners, opened, infos }) {
      for (const [i, mq] of config.listeners.mqtt.entries()) {
        const field = `listeners.mqtt[${i}]`;
        const { host, port, tls, ...settings } = mq;
        const secure = tls && loadListenerTls(field, tls);
        const info: ListenerInfo = {
          transport: 'mqtt',
          host,
          port,
          realm: mq.realm,
          ...(secure && { tls: summary(secure) }),
        };
        const l = await listen(info, () =>
          listenMqtt(
            { host, port },
            router,
            {
              ...settings,
              connectTimeoutMs: limits.handshakeTimeoutMs,
              preAuthMaxPacketBytes: limits.preAuthMaxMessageSize,
              preAuthBudget,
              sessions: mqttSessions,
              resume: mqttResume,
              logger,
              ...(secure && { tls: secure }),
            },
            mqttRegistry,
          ),
        );
        opened.push(l);
        if (secure && l.reloadTls) tlsListeners.add(field, secure, (next) => l.reloadTls?.(next));
        infos.push({ ...info, port: l.port ?? mq.port });
      }
    },
  };
}
