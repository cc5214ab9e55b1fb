// The configured bridges, met by the core through the federation port only: each publication
// made on this router (never one that came over the mesh: every node forwards only its own, so
// nothing is sent twice and a node that dies loses only its own outbox) is matched against each
// bridge of its realm, and what matches is put into the outbox before its publisher hears
// PUBLISHED. What a bridge brings in is published through its own session and never sent out
// again by the same bridge (no loops).

import type { Logger } from '../log.ts';
import type { Publisher, EventRouting } from '../router/broker.ts';
import type { StoredEvent } from '../router/event-store.ts';
import type { Federation, FederationListener } from '../router/federation.ts';
import type { PeerAcceptor } from '../router/peer.ts';
import { readBridgeFile, type BridgeConfig } from './config.ts';
import { encodeEvent } from './event-payload.ts';
import { Forwarder, type Sink } from './forwarder.ts';
import { MqttSink } from './mqtt-sink.ts';
import { type DropReason, Outbox } from './outbox.ts';
import { inTopic, outDestination, type OutMatch } from './rules.ts';
import { BridgeSession } from './wamp-session.ts';
import { WebhookSink } from './webhook-sink.ts';
import { WampSink } from './wamp-sink.ts';
import { uriMatches } from '../router/uri-table.ts';
import type { Db } from '../store/database.ts';

export type BridgeState = 'up' | 'down' | 'connecting';

export interface BridgeStatus {
  name: string;
  type: 'mqtt' | 'webhook' | 'wamp';
  realm: string;
  state: BridgeState;
  queue: { depth: number; bytes: number; oldestAgeSec: number; inflight: number; deadLetters: number };
  rates: { queuedPerSec: number; confirmedPerSec: number };
  counters: {
    queued: number;
    sent: number;
    confirmed: number;
    retries: number;
    redelivered: number;
    deadLettered: number;
    dropped: Record<DropReason, number>;
    unmappable: number;
    inReceived: number;
    inPublished: number;
    inRefused: number;
    callsIn: number;
  };
  lastError: string | null;
  lastErrorAt: string | null;
}

/** Seconds over which rates are averaged. */
const RATE_WINDOW = 10;

class Bridge {
  readonly config: BridgeConfig;
  readonly forwarder: Forwarder;
  readonly out: OutMatch[];
  sink: (Sink & { stop?(): Promise<void> }) | undefined;
  session: BridgeSession | undefined;
  state: BridgeState = 'connecting';
  unmappable = 0;
  inReceived = 0;
  inPublished = 0;
  inRefused = 0;
  callsIn = 0;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  samples: { at: number; queued: number; confirmed: number }[] = [];

  constructor(config: BridgeConfig, forwarder: Forwarder) {
    this.config = config;
    this.forwarder = forwarder;
    this.out =
      config.type === 'mqtt'
        ? config.rules.flatMap((r) => (r.direction === 'out' ? [r] : []))
        : config.type === 'wamp'
          ? config.rules.flatMap((r) => (r.direction === 'out' ? [{ ...r, mqtt: '', qos: 0 }] : []))
          : config.rules.map((r) => ({ ...r, mqtt: '', qos: 0 }));
  }
}

export interface BridgesOptions {
  readonly db: Db;
  readonly router: PeerAcceptor & { readonly federation: Federation };
  readonly logger: Logger;
  readonly now?: () => number;
}

export class Bridges implements FederationListener {
  readonly outbox: Outbox;
  readonly #bridges = new Map<string, Bridge>();
  readonly #byRealm = new Map<string, Bridge[]>();
  readonly #options: BridgesOptions;
  readonly #now: () => number;
  #lastExpire = 0;

  constructor(configs: readonly BridgeConfig[], options: BridgesOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const log = options.logger;
    this.outbox = new Outbox(options.db, {
      now: this.#now,
      onError: (err) => log.error({ err: err.message }, 'bridge outbox: commit failed'),
    });
    for (const config of configs) {
      const forwarder = new Forwarder({
        bridge: config.name,
        outbox: this.outbox,
        inflight: config.queue.inflight,
        // A webhook's POST has its own timeout, which ends it (a failure) before this deadline
        // could: the deadline must not cut it short and send the window again beside it.
        confirmTimeoutMs:
          config.type === 'webhook'
            ? Math.max(config.queue.confirmTimeoutMs, config.timeoutMs + 1000)
            : config.queue.confirmTimeoutMs,
        retry: config.retry,
        now: this.#now,
        onError: (message) => {
          bridge.lastError = message;
          bridge.lastErrorAt = this.#now();
          log.warn({ bridge: config.name, err: message }, 'bridge: delivery failed');
        },
      });
      const bridge = new Bridge(config, forwarder);
      this.outbox.open(config.name, config.queue, () => forwarder.pump());
      this.#bridges.set(config.name, bridge);
      const list = this.#byRealm.get(config.realm) ?? [];
      list.push(bridge);
      this.#byRealm.set(config.realm, list);
    }
  }

  /** Connects every bridge and starts listening to publications; throws if a secret file is unreadable. */
  start(): void {
    for (const bridge of this.#bridges.values())
      if (!this.#options.router.federation.hasRealm(bridge.config.realm))
        throw new Error(`bridge ${bridge.config.name}: realm '${bridge.config.realm}' is not served by this router`);
    for (const bridge of this.#bridges.values()) this.#start(bridge);
    this.#options.router.federation.listen(this);
  }

  #start(bridge: Bridge): void {
    const config = bridge.config;
    const log = this.#options.logger;
    const failed = (reason: string) => {
      bridge.lastError = reason;
      bridge.lastErrorAt = this.#now();
    };
    if (config.type === 'webhook') {
      bridge.sink = new WebhookSink(config);
      bridge.state = 'up';
      bridge.forwarder.attach(bridge.sink);
      return;
    }
    const link = {
      up: () => {
        bridge.state = 'up';
        log.info({ bridge: config.name }, 'bridge: connected');
        bridge.forwarder.pump();
      },
      down: (reason: string) => {
        if (bridge.state === 'up') log.warn({ bridge: config.name, err: reason }, 'bridge: connection lost');
        bridge.state = 'down';
        failed(reason);
      },
    };
    let sink: MqttSink | WampSink;
    if (config.type === 'mqtt') {
      const rules = config.rules.flatMap((r) => (r.direction === 'in' ? [r] : []));
      sink = new MqttSink(config, {
        ...link,
        message: (topic, args, kwargs) => {
          const target = inTopic(rules, topic);
          if (target === undefined || 'refused' in target) {
            bridge.inReceived++;
            bridge.inRefused++;
            failed(`incoming MQTT message on '${topic}': ${target?.refused ?? 'no rule maps it'}`);
            return;
          }
          this.#publishIn(bridge, target.topic, args, kwargs);
        },
      });
    } else {
      sink = new WampSink(config, {
        ...link,
        event: (topic, args, kwargs) => this.#publishIn(bridge, topic, args, kwargs),
        call: (procedure, args, kwargs, done) => {
          bridge.callsIn++;
          bridge.session!.call(procedure, args, kwargs, done);
        },
        problem: failed,
      });
    }
    bridge.sink = sink;
    if (!config.rules.some((r) => r.direction !== 'out')) {
      sink.start();
      bridge.forwarder.attach(sink);
      return;
    }
    const identity =
      config.as === undefined
        ? undefined
        : {
            authid: config.as.authid,
            ticket: readBridgeFile(config.name, 'as.ticketFile', config.as.ticketFile).toString('utf8').trim(),
          };
    // The remote side is connected once the bridge's own session is up: what comes in has a way in.
    bridge.session = new BridgeSession(
      this.#options.router,
      { bridge: config.name, realm: config.realm, identity },
      {
        established: () => sink.start(),
        ended: (reason) => {
          failed(`the bridge's WAMP session ended: ${reason}`);
          log.error({ bridge: config.name, err: reason }, 'bridge: its WAMP session ended; what comes in is refused');
        },
        refused: (topic, error, message) => {
          bridge.inPublished--;
          bridge.inRefused++;
          failed(`publication to '${topic}' refused: ${error}${message ? ` (${message})` : ''}`);
        },
      },
    );
    bridge.forwarder.attach(sink);
  }

  /** An event brought in (from MQTT, from the other router) published here through the bridge's session. */
  #publishIn(
    bridge: Bridge,
    topic: string,
    args: unknown[] | undefined,
    kwargs: Record<string, unknown> | undefined,
  ): void {
    bridge.inReceived++;
    if (bridge.session?.publish(topic, args, kwargs) === true) {
      bridge.inPublished++;
      return;
    }
    bridge.inRefused++;
    bridge.lastError = `incoming event on '${topic}' not published: the bridge's session is not established`;
    bridge.lastErrorAt = this.#now();
  }

  published(realm: string, event: StoredEvent, routing: EventRouting, publisher: Publisher): Promise<void> | undefined {
    const bridges = this.#byRealm.get(realm);
    if (bridges === undefined) return undefined;
    // A publication meant for named sessions only is not for other systems.
    const filter = routing.filter;
    if (filter !== undefined && Object.keys(filter).some((k) => k.startsWith('eligible'))) return undefined;
    let holds: Promise<void>[] | undefined;
    let payload: Uint8Array | undefined;
    for (const bridge of bridges) {
      if (bridge.session !== undefined && bridge.session.id === publisher.session) continue;
      const to =
        bridge.config.type === 'mqtt'
          ? outDestination(bridge.out, event.topic)
          : bridge.out.some((r) => uriMatches(r.wamp, r.match, event.topic))
            ? { dest: '', qos: 0 }
            : undefined;
      if (to === undefined) continue;
      if ('unmappable' in to) {
        bridge.unmappable++;
        bridge.lastError = to.unmappable;
        bridge.lastErrorAt = this.#now();
        continue;
      }
      payload ??= encodeEvent(event);
      if (payload === undefined) {
        bridge.unmappable++;
        continue;
      }
      const hold = this.outbox.put(
        bridge.config.name,
        { topic: event.topic, dest: to.dest, qos: to.qos, payload },
        publisher.acknowledge,
      );
      if (hold !== undefined) (holds ??= []).push(hold);
    }
    if (holds === undefined) return undefined;
    return holds.length === 1 ? holds[0] : Promise.all(holds).then(() => undefined);
  }

  interestsChanged(): void {}

  /** Upkeep from the router's tick: expiry by age (every few seconds), rate samples. */
  tick(): void {
    const now = this.#now();
    if (now - this.#lastExpire >= 5000) {
      this.#lastExpire = now;
      try {
        this.outbox.expire();
      } catch (err) {
        this.#options.logger.error({ err: (err as Error).message }, 'bridge outbox: expiry failed');
      }
    }
    for (const bridge of this.#bridges.values()) {
      const state = this.outbox.state(bridge.config.name)!;
      bridge.samples.push({ at: now, queued: state.committed, confirmed: bridge.forwarder.stats.confirmed });
      while (bridge.samples.length > RATE_WINDOW + 1) bridge.samples.shift();
    }
  }

  names(): string[] {
    return [...this.#bridges.keys()];
  }

  status(): BridgeStatus[] {
    return [...this.#bridges.values()].map((b) => this.#status(b));
  }

  #status(b: Bridge): BridgeStatus {
    const name = b.config.name;
    const q = this.outbox.state(name)!;
    const f = b.forwarder.stats;
    const first = b.samples[0];
    const last = b.samples.at(-1);
    const span = first !== undefined && last !== undefined ? (last.at - first.at) / 1000 : 0;
    const rate = (k: 'queued' | 'confirmed') => (span > 0 ? Math.round(((last![k] - first![k]) / span) * 10) / 10 : 0);
    const lastErrorAt = Math.max(b.lastErrorAt ?? 0, f.lastErrorAt ?? 0);
    const lastError = (f.lastErrorAt ?? 0) > (b.lastErrorAt ?? 0) ? f.lastError : b.lastError;
    return {
      name,
      type: b.config.type,
      realm: b.config.realm,
      state: b.state,
      queue: {
        depth: q.depth,
        bytes: q.bytes,
        oldestAgeSec: Math.round(this.outbox.oldestAgeMs(name) / 100) / 10,
        inflight: b.forwarder.inflight,
        deadLetters: this.outbox.deadLetters(name, 0).total,
      },
      rates: { queuedPerSec: rate('queued'), confirmedPerSec: rate('confirmed') },
      counters: {
        queued: q.committed,
        sent: f.sent,
        confirmed: f.confirmed,
        retries: f.retries,
        redelivered: f.redelivered,
        deadLettered: f.deadLettered,
        dropped: { ...q.dropped },
        unmappable: b.unmappable,
        inReceived: b.inReceived,
        inPublished: b.inPublished,
        inRefused: b.inRefused,
        callsIn: b.callsIn,
      },
      lastError: lastError ?? null,
      lastErrorAt: lastErrorAt > 0 ? new Date(lastErrorAt).toISOString() : null,
    };
  }

  /** Commits what is pending, stops sending and closes the links. */
  async stop(): Promise<void> {
    for (const b of this.#bridges.values()) {
      b.forwarder.stop();
      b.session?.close();
      await b.sink?.stop?.();
    }
    this.outbox.close();
  }
}
