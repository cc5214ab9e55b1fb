// Autobahn|JS sessions against the router under test for one test, and an inbox for the events a
// subscriber gets; on failure the library's own complaints are logged beside the assertion.

import type { ExecutionContext } from 'ava';
import type { RouterProcess } from '../../helpers/router-process.ts';
import type { Config } from './autobahn-configs.ts';
import {
  makeSerializer,
  openSession,
  recentLibraryWarnings,
  type AbTransportOptions,
  type Kwargs,
  type OpenSession,
} from './autobahn-js.ts';
import { uniqueSuffix } from './unique.ts';

export interface Inbox {
  events: { args: unknown[]; kwargs: Kwargs }[];
  handler: (args: unknown[], kwargs: Kwargs) => void;
}

export function inbox(): Inbox {
  const box: Inbox = {
    events: [],
    handler: (args, kwargs) => {
      box.events.push({ args, kwargs });
    },
  };
  return box;
}

function transportOptions(router: RouterProcess | undefined, config: Config): AbTransportOptions {
  if (!router) throw new Error('router not started');
  return config.transport === 'websocket'
    ? { type: 'websocket', url: router.wsUrl, serializers: [makeSerializer(config.serializer)] }
    : { type: 'rawsocket', host: router.rawsocketHost, port: router.rawsocketPort };
}

export type WithSessions = (
  t: ExecutionContext,
  configs: readonly Config[],
  labels: readonly string[],
  body: (sessions: OpenSession[], uri: (name: string) => string) => Promise<void>,
) => Promise<void>;

/** `withSessions` for the router `router()` returns (started by the test file's `before` hook). */
export function sessionsAgainst(router: () => RouterProcess | undefined): WithSessions {
  /** Opens sessions for one test, runs it, and on failure shows what the library complained about. */
  return async function withSessions(t, configs, labels, body) {
    const prefix = `com.wampmesh.interop.js.${uniqueSuffix()}`;
    const sessions: OpenSession[] = [];
    try {
      for (const [i, config] of configs.entries()) {
        sessions.push(await openSession(transportOptions(router(), config), `${labels[i] ?? i} (${config.name})`));
      }
      await body(sessions, (name) => `${prefix}.${name}`);
    } catch (error) {
      const warnings = recentLibraryWarnings();
      if (warnings.length > 0) t.log(`autobahn warnings (most recent, from all tests):\n${warnings.join('\n')}`);
      throw error;
    } finally {
      await Promise.all(sessions.map((s) => s.close()));
    }
  };
}
