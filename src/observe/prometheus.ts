// /metrics: reads the counters the core keeps (src/router/metrics.ts), the realms' tables, the
// mesh's status and the process, and writes them in the text format. All of it happens on a
// scrape; nothing here runs per message.

import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MeshLinks } from '../mesh/links/links.ts';
import type { EventStatus } from '../mesh/routing/events.ts';
import type { MeshNode } from '../mesh/routing/node.ts';
import {
  AUTH_METHODS,
  CALL_OUTCOMES,
  CALL_SAMPLE_EVERY,
  DROP_REASONS,
  Histogram,
  sum,
  MESSAGE_CODES,
  TRANSPORTS,
  type RouterMetrics,
} from '../router/metrics.ts';
import type { Router } from '../router/router.ts';
import type { BridgeStatus } from '../bridge/bridges.ts';
import { MessageType, messageName } from '../wamp/messages.ts';

const EVENT: number = MessageType.EVENT;
import { Exposition } from './exposition.ts';

/** Upper bounds (seconds) of the commit-time buckets: a fsync on an SD card takes 1-100 ms. */
export const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

export interface MeshSource {
  readonly node: MeshNode;
  readonly links: MeshLinks;
}

export interface MetricsSources {
  readonly version: string;
  readonly commit: string;
  readonly router: Router;
  readonly metrics: RouterMetrics;
  /** The SQLite file (its -wal beside it is counted too) and the commit-time histogram. */
  readonly db: { readonly file: string; readonly commits: Histogram };
  /** Read at each scrape: the mesh may start after the listeners. */
  mesh(): MeshSource | undefined;
  /** The bridges' status, read at each scrape (none without bridges). */
  bridges?(): readonly BridgeStatus[];
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export class PrometheusMetrics {
  readonly #src: MetricsSources;
  readonly #loop: ReturnType<typeof monitorEventLoopDelay>;

  constructor(sources: MetricsSources) {
    this.#src = sources;
    // Sampled by libuv every 20 ms; reset at each scrape so a value covers one scrape interval.
    this.#loop = monitorEventLoopDelay({ resolution: 20 });
    this.#loop.enable();
  }

  close(): void {
    this.#loop.disable();
  }

  render(): string {
    const out = new Exposition();
    const { router, metrics: m } = this.#src;
    out
      .family('wampmesh_build_info', 'gauge', 'Version and commit of the running router; always 1.')
      .sample('wampmesh_build_info', 1, { version: this.#src.version, commit: this.#src.commit });
    this.#sessions(out, router);
    this.#messages(out, router, m);
    this.#routing(out, router, m);
    this.#mesh(out);
    this.#bridges(out);
    this.#store(out);
    this.#process(out);
    return out.text();
  }

  #sessions(out: Exposition, router: Router): void {
    const realms = [...router.realms.values()];
    const each = (
      name: string,
      kind: 'gauge' | 'counter',
      help: string,
      value: (opened: number, closed: number) => number,
    ): void => {
      out.family(name, kind, help);
      for (const realm of realms) {
        const c = realm.counters;
        TRANSPORTS.forEach((transport, t) => {
          if (c.sessionsOpened[t] === 0) return;
          out.sample(name, value(c.sessionsOpened[t]!, c.sessionsClosed[t]!), { realm: realm.uri, transport });
        });
      }
    };
    each('wampmesh_sessions', 'gauge', 'Sessions joined to a realm now, by realm and transport.', (o, c) => o - c);
    each('wampmesh_sessions_opened_total', 'counter', 'Sessions that joined a realm (WELCOME sent).', (o) => o);
    each('wampmesh_sessions_closed_total', 'counter', 'Sessions that left a realm, for any reason.', (_o, c) => c);
  }

  #messages(out: Exposition, router: Router, m: RouterMetrics): void {
    // EVENTs are counted per realm, the octets live sessions sent by their transports (see
    // SessionMeter); add them in.
    const sent = Float64Array.from(m.messagesSent);
    for (const realm of router.realms.values())
      realm.counters.eventsWritten.forEach((n, t) => {
        sent[t * MESSAGE_CODES + EVENT]! += n;
      });
    const bytesSent = Float64Array.from(m.bytesSent);
    for (const meter of m.live) bytesSent[meter.transport]! += meter.octetsSent();
    const byType = (name: string, help: string, counts: Float64Array): void => {
      out.family(name, 'counter', help);
      TRANSPORTS.forEach((transport, t) => {
        for (let code = 0; code < MESSAGE_CODES; code++) {
          const n = counts[t * MESSAGE_CODES + code]!;
          if (n > 0) out.sample(name, n, { type: messageName[code] ?? String(code), transport });
        }
      });
    };
    byType(
      'wampmesh_messages_received_total',
      'WAMP messages received from clients, by message type and transport.',
      m.messagesReceived,
    );
    byType('wampmesh_messages_sent_total', 'WAMP messages sent to clients, by message type and transport.', sent);
    const bytes = (name: string, help: string, counts: Float64Array): void => {
      out.family(name, 'counter', help);
      TRANSPORTS.forEach((transport, t) => {
        if (counts[t]! > 0) out.sample(name, counts[t]!, { transport });
      });
    };
    bytes(
      'wampmesh_received_bytes_total',
      'Octets of WAMP messages received (serialized, without transport framing).',
      m.bytesReceived,
    );
    bytes(
      'wampmesh_sent_bytes_total',
      'Octets of WAMP messages sent (serialized, without transport framing).',
      bytesSent,
    );
  }

  #routing(out: Exposition, router: Router, m: RouterMetrics): void {
    const realms = [...router.realms.values()];
    out.family(
      'wampmesh_calls_total',
      'counter',
      "Calls made by this router's clients, by realm and outcome as the caller saw it.",
    );
    for (const realm of realms) {
      CALL_OUTCOMES.forEach((outcome, i) =>
        out.sample('wampmesh_calls_total', realm.counters.calls[i]!, { realm: realm.uri, outcome }),
      );
    }
    out.histogram(
      'wampmesh_call_duration_seconds',
      `Time from CALL received to RESULT or ERROR sent to the caller, of one call in ${CALL_SAMPLE_EVERY} per caller session (the first always).`,
      m.callDuration,
    );
    out.family('wampmesh_publications_total', 'counter', 'PUBLISH messages accepted (authorized), by realm.');
    for (const realm of realms)
      out.sample('wampmesh_publications_total', realm.counters.publications, { realm: realm.uri });
    out.family('wampmesh_events_delivered_total', 'counter', 'EVENT messages written to subscribers, by realm.');
    for (const realm of realms)
      out.sample('wampmesh_events_delivered_total', sum(realm.counters.eventsWritten), { realm: realm.uri });
    out.family(
      'wampmesh_events_dropped_total',
      'counter',
      "EVENT messages not delivered, by realm and reason (slow_consumer: the subscriber's outbound buffer was over the soft limit).",
    );
    for (const realm of realms) {
      DROP_REASONS.forEach((reason, i) =>
        out.sample('wampmesh_events_dropped_total', realm.counters.eventsDropped[i]!, { realm: realm.uri, reason }),
      );
    }
    out.family(
      'wampmesh_registrations',
      'gauge',
      'Registrations (procedures with at least one callee, local or remote), by realm.',
    );
    for (const realm of realms)
      out.sample('wampmesh_registrations', realm.dealer.registrationCount, { realm: realm.uri });
    out.family(
      'wampmesh_subscriptions',
      'gauge',
      'Subscriptions (topics or patterns with at least one subscriber), by realm.',
    );
    for (const realm of realms)
      out.sample('wampmesh_subscriptions', realm.broker.subscriptionCount, { realm: realm.uri });
    out.family(
      'wampmesh_auth_failures_total',
      'counter',
      'Sessions refused by authentication, by realm and authentication method.',
    );
    for (const realm of realms) {
      AUTH_METHODS.forEach((method, i) => {
        const n = realm.counters.authFailures[i]!;
        if (n > 0 || method === 'anonymous')
          out.sample('wampmesh_auth_failures_total', n, { realm: realm.uri, method });
      });
    }
    out
      .family(
        'wampmesh_slow_consumer_closes_total',
        'counter',
        'Sessions closed because they did not read what they were sent.',
      )
      .sample('wampmesh_slow_consumer_closes_total', m.slowConsumerCloses);
  }

  #bridges(out: Exposition): void {
    const list = this.#src.bridges?.() ?? [];
    if (list.length === 0) return;
    const gauge = (
      name: string,
      help: string,
      value: (b: BridgeStatus) => number,
      type: 'gauge' | 'counter' = 'gauge',
    ) => {
      out.family(name, type, help);
      for (const b of list) out.sample(name, value(b), { bridge: b.name });
    };
    gauge('wampmesh_bridge_up', 'Whether the bridge can send to its remote side now (1) or not (0).', (b) =>
      b.state === 'up' ? 1 : 0,
    );
    gauge('wampmesh_bridge_queue_messages', 'Events in the outbox waiting for confirmation.', (b) => b.queue.depth);
    gauge('wampmesh_bridge_queue_bytes', 'Payload bytes in the outbox.', (b) => b.queue.bytes);
    gauge(
      'wampmesh_bridge_queue_oldest_age_seconds',
      'Age of the oldest event in the outbox.',
      (b) => b.queue.oldestAgeSec,
    );
    gauge('wampmesh_bridge_inflight', 'Events sent and not yet confirmed.', (b) => b.queue.inflight);
    gauge(
      'wampmesh_bridge_dead_letters',
      'Events the remote side refused for good, kept for replay.',
      (b) => b.queue.deadLetters,
    );
    gauge('wampmesh_bridge_queued_total', 'Events committed to the outbox.', (b) => b.counters.queued, 'counter');
    gauge('wampmesh_bridge_sent_total', 'Events confirmed by the remote side.', (b) => b.counters.confirmed, 'counter');
    gauge(
      'wampmesh_bridge_retries_total',
      'Failures after which unconfirmed events were sent again.',
      (b) => b.counters.retries,
      'counter',
    );
    gauge(
      'wampmesh_bridge_redelivered_total',
      'Events sent again that may have arrived before (possible duplicates).',
      (b) => b.counters.redelivered,
      'counter',
    );
    gauge(
      'wampmesh_bridge_dead_lettered_total',
      'Events moved to the dead letters.',
      (b) => b.counters.deadLettered,
      'counter',
    );
    out.family('wampmesh_bridge_dropped_total', 'counter', 'Events dropped from or refused by the outbox, by reason.');
    for (const b of list)
      for (const [reason, n] of Object.entries(b.counters.dropped))
        out.sample('wampmesh_bridge_dropped_total', n, { bridge: b.name, reason });
    gauge(
      'wampmesh_bridge_in_received_total',
      "MQTT messages received for the bridge's in rules.",
      (b) => b.counters.inReceived,
      'counter',
    );
    gauge(
      'wampmesh_bridge_in_refused_total',
      'Incoming messages not published (no mapping, or refused by the router).',
      (b) => b.counters.inRefused,
      'counter',
    );
  }

  #mesh(out: Exposition): void {
    const mesh = this.#src.mesh();
    if (mesh === undefined) return;
    const links = mesh.links.status();
    const node = mesh.node.status() as {
      routes?: Record<string, unknown>;
      replication?: { records: number; lagMs: Record<string, number> };
      events?: EventStatus;
      trust?: { refused: Record<string, number> };
    };
    out.family('wampmesh_mesh_links', 'gauge', 'Mesh links up.').sample('wampmesh_mesh_links', links.links.length);
    out
      .family('wampmesh_mesh_nodes_reachable', 'gauge', 'Other mesh nodes this node has a route to.')
      .sample('wampmesh_mesh_nodes_reachable', Object.keys(node.routes ?? {}).length);
    // Per link while it is up; the counter restarts when the link does (Prometheus's rate() allows for resets).
    out.family(
      'wampmesh_mesh_link_received_bytes_total',
      'counter',
      'Octets received on the mesh link to a peer node since the link came up.',
    );
    for (const l of links.links) out.sample('wampmesh_mesh_link_received_bytes_total', l.bytesIn, { peer: l.peer });
    out.family(
      'wampmesh_mesh_link_sent_bytes_total',
      'counter',
      'Octets sent on the mesh link to a peer node since the link came up.',
    );
    for (const l of links.links) out.sample('wampmesh_mesh_link_sent_bytes_total', l.bytesOut, { peer: l.peer });
    out.family(
      'wampmesh_mesh_link_rtt_seconds',
      'gauge',
      'Round-trip time of the last heartbeat on the link to a peer node.',
    );
    for (const l of links.links)
      if (l.rttMs !== undefined) out.sample('wampmesh_mesh_link_rtt_seconds', l.rttMs / 1000, { peer: l.peer });
    out
      .family(
        'wampmesh_mesh_integrity_failures_total',
        'counter',
        'Mesh links closed because frames failed their integrity check, here or at the peer.',
      )
      .sample('wampmesh_mesh_integrity_failures_total', mesh.links.integrityFailures);
    if (node.trust !== undefined) {
      out.family(
        'wampmesh_mesh_trust_refused_total',
        'counter',
        'What mesh trust refused from members, by reason (forgedLsa, forgedRecord, callerIdentity...: README "Mesh", Trust).',
      );
      for (const [reason, n] of Object.entries(node.trust.refused))
        out.sample('wampmesh_mesh_trust_refused_total', n, { reason });
    }
    if (node.events !== undefined) this.#meshEvents(out, node.events);
    if (node.replication !== undefined) {
      out
        .family(
          'wampmesh_replication_records',
          'gauge',
          'Replicated configuration records (realms, users, grants) held by this node.',
        )
        .sample('wampmesh_replication_records', node.replication.records);
      // One series per neighbour (a linked node): as bounded as the links are.
      out.family(
        'wampmesh_replication_lag_seconds',
        'gauge',
        'How long this node has known it lacks replicated records a linked peer node holds (found by anti-entropy); 0 when it lacks none.',
      );
      for (const [peer, ms] of Object.entries(node.replication.lagMs))
        out.sample('wampmesh_replication_lag_seconds', ms / 1000, { peer });
    }
  }

  /** The event delivery contract's counts (README "Mesh"). */
  #meshEvents(out: Exposition, events: EventStatus): void {
    out
      .family('wampmesh_mesh_events_unacked', 'gauge', 'Mesh event copies sent and not yet safely past the next hops.')
      .sample('wampmesh_mesh_events_unacked', events.unacked);
    out
      .family('wampmesh_mesh_events_outage_held', 'gauge', 'Mesh events kept for nodes no route reaches now.')
      .sample('wampmesh_mesh_events_outage_held', events.outageHeld);
    out.family(
      'wampmesh_mesh_events_dropped_total',
      'counter',
      'Mesh event copies dropped on this node, by reason (the bound that was hit, tooLarge, eventTtl).',
    );
    for (const reason of [
      'linkUnackedBytes',
      'linkUnackedMaxAgeMs',
      'outageHold',
      'outageHoldMs',
      'tooLarge',
      'eventTtl',
    ])
      out.sample('wampmesh_mesh_events_dropped_total', events.dropped[reason] ?? 0, { reason });
    out
      .family(
        'wampmesh_mesh_events_given_up_total',
        'counter',
        "Events for this node never received: gaps in an origin's numbering given up after holdbackMs.",
      )
      .sample('wampmesh_mesh_events_given_up_total', events.order.gaveUp);
  }

  #store(out: Exposition): void {
    const { file, commits } = this.#src.db;
    out.histogram(
      'wampmesh_sqlite_commit_seconds',
      'Time of each event-store write (retained event or history), including its fsync.',
      commits,
    );
    out
      .family('wampmesh_db_bytes', 'gauge', 'Size of the SQLite database file and its write-ahead log.')
      .sample('wampmesh_db_bytes', fileSize(file) + fileSize(`${file}-wal`));
  }

  #process(out: Exposition): void {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    out
      .family('process_resident_memory_bytes', 'gauge', 'Resident set size of the router process.')
      .sample('process_resident_memory_bytes', mem.rss);
    out.family('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use.').sample('nodejs_heap_used_bytes', mem.heapUsed);
    out
      .family('process_cpu_seconds_total', 'counter', 'User and system CPU time of the router process.')
      .sample('process_cpu_seconds_total', (cpu.user + cpu.system) / 1e6);
    out
      .family('process_start_time_seconds', 'gauge', 'Start time of the process, seconds since the Unix epoch.')
      .sample('process_start_time_seconds', Math.round((Date.now() - process.uptime() * 1000) / 1000));
    const loop = this.#loop;
    const mean = loop.count > 0 ? loop.mean / 1e9 : 0;
    const max = loop.count > 0 ? loop.max / 1e9 : 0;
    out
      .family(
        'nodejs_eventloop_lag_seconds',
        'gauge',
        'Mean event-loop delay since the previous scrape (sampled every 20 ms).',
      )
      .sample('nodejs_eventloop_lag_seconds', mean);
    out
      .family('nodejs_eventloop_lag_max_seconds', 'gauge', 'Largest event-loop delay since the previous scrape.')
      .sample('nodejs_eventloop_lag_max_seconds', max);
    loop.reset();
  }
}

export function newCommitHistogram(): Histogram {
  return new Histogram(COMMIT_BUCKETS);
}
