// /metrics: reads the counters the core keeps (src/router/metrics.ts), the realms' tables, the
// mesh's status and the process, and writes them in the text format. All of it happens on a
// scrape; nothing here runs per message.

import fs from 'node:fs';
import type { monitorEventLoopDelay } from 'node:perf_hooks';
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
import { writeBridgeFamilies } from './bridge-metrics.ts';
import { writeMeshFamilies, type MeshSource } from './mesh-metrics.ts';

/** Upper bounds (seconds) of the commit-time buckets: a fsync on an SD card takes 1-100 ms. */
export const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

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
    // node:perf_hooks loaded here, not on import: a router without /metrics never needs it
    // (about 0.5 MB of idle RSS).
    this.#loop = process.getBuiltinModule('node:perf_hooks').monitorEventLoopDelay({ resolution: 20 });
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
    writeMeshFamilies(out, this.#src.mesh());
    writeBridgeFamilies(out, this.#src.bridges?.() ?? []);
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
