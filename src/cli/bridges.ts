// `serve`: the bridges of the config file, their admin procedures and their upkeep. The admin
// procedures are registered even without bridges, so `wampmesh bridge status` says there are
// none rather than that the procedure is unknown. The bridges themselves (and the MQTT client
// they use) are loaded only when the config has some.

import type { Bridges } from '../bridge/bridges.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { Realm } from '../router/realm.ts';
import type { Router } from '../router/router.ts';
import type { Db } from '../store/database.ts';
import { ErrorUri } from '../wamp/uris.ts';
import type { Dict } from '../wamp/messages.ts';
import { StartError } from './errors.ts';
import { orphanedQueues } from '../bridge/orphans.ts';

/** Dead letters listed at most per call. */
const DEAD_LIST_MAX = 1000;

export async function startBridges(
  config: Config,
  router: Router,
  db: Db,
  adminRealm: Realm,
  logger: Logger,
): Promise<Bridges | undefined> {
  const bridges =
    config.bridges.length === 0
      ? undefined
      : new (await import('../bridge/bridges.ts')).Bridges(config.bridges, {
          db,
          router,
          logger: logger.child({ part: 'bridge' }),
        });
  try {
    bridges?.start();
  } catch (e) {
    throw new StartError(`bridges: ${(e as Error).message}`);
  }
  const orphaned = orphanedQueues(
    db,
    config.bridges.map((b) => b.name),
  );
  for (const o of orphaned)
    logger.warn(
      { bridge: o.bridge, events: o.events, bytes: o.bytes, deadLetters: o.deadLetters },
      'bridge: events kept for a bridge the config no longer has; configure a bridge of that name to send them',
    );
  const dealer = adminRealm.dealer;
  const named = (args: unknown[]): string | { error: string; args: unknown[] } => {
    const name = args[0];
    if (typeof name !== 'string' || bridges === undefined || !bridges.names().includes(name))
      return {
        error: ErrorUri.INVALID_ARGUMENT,
        args: [`no bridge named ${JSON.stringify(name)} (configured: ${bridges?.names().join(', ') || 'none'})`],
      };
    return name;
  };
  dealer.addLocalProcedure('wampmesh.bridge.status', () => ({ args: [bridges?.status() ?? []] }));
  // Options come as kwargs or, from the CLI, as an object after the name.
  const option = (args: unknown[], kwargs: Dict, key: string): unknown =>
    kwargs[key] ?? (typeof args[1] === 'object' && args[1] !== null ? (args[1] as Dict)[key] : args[1]);
  dealer.addLocalProcedure('wampmesh.bridge.dead.list', (_c, args, kwargs) => {
    const name = named(args);
    if (typeof name !== 'string') return name;
    const asked = option(args, kwargs, 'limit');
    const limit = typeof asked === 'number' && asked >= 0 ? Math.min(DEAD_LIST_MAX, Math.floor(asked)) : 100;
    const { total, letters } = bridges!.outbox.deadLetters(name, limit);
    return {
      args: [
        {
          total,
          letters: letters.map((l) => ({
            id: l.id,
            topic: l.topic,
            dest: l.dest,
            bytes: l.payload.byteLength,
            created: new Date(l.created).toISOString(),
            failed: new Date(l.failed).toISOString(),
            reason: l.reason,
          })),
        },
      ],
    };
  });
  dealer.addLocalProcedure('wampmesh.bridge.dead.replay', (_c, args, kwargs) => {
    const name = named(args);
    if (typeof name !== 'string') return name;
    const id = option(args, kwargs, 'id');
    if (id !== undefined && (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1))
      return { error: ErrorUri.INVALID_ARGUMENT, args: ['ID must be a positive integer'] };
    return { args: [{ replayed: bridges!.outbox.replay(name, id as number | undefined) }] };
  });
  return bridges;
}
