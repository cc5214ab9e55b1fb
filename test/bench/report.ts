// The table `npm run bench` prints: the machine, the medians of every row with what it is compared
// with, connections, start-up, the bridge, the spread across rounds and the issues' targets.

import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { PAYLOAD, spread, type Cpu } from './common.ts';
import { BRIDGE_INFLIGHT, BRIDGE_SUSTAIN_MS, BRIDGE_WINDOW, DRAIN_EVENTS, type BridgeFigures } from './bridge.ts';
import type { Connections } from './connections.ts';
import { FANOUT_MS, LAG_LIMIT, SUBSCRIBERS, WINDOW, type FanoutFigures } from './fanout.ts';
import { int, lpad, pad, pct } from './format.ts';
import { issueTargets } from './issue-targets.ts';
import { NODES } from './mesh.ts';
import { IN_FLIGHT, PIPELINE_MS, SEQUENTIAL_CALLS } from './rpc.ts';
import { isRpc, summarize, type Run } from './runs.ts';
import { FANOUT_CHILDREN, LARGE_PAYLOADS } from './settings.ts';

function machine(): string {
  const model =
    /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown CPU';
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return (
    `${availableParallelism()} CPUs (${model}), ${(totalmem() / 2 ** 30).toFixed(0)} ` +
    `GiB, Linux ${kernel}, Node ${process.version}, load average at the end ${load}`
  );
}

export function report(
  runs: readonly Run[],
  connections: readonly Connections[],
  startup: readonly string[],
  mqtt: readonly string[],
  rounds: number,
  fileLimit: number,
  elapsedMs: number,
  bridge?: BridgeFigures,
): void {
  const rows = runs.filter((r) => r.results.length > 0).map(summarize);
  const byKey = new Map(rows.map((r) => [r.run.key, r]));
  const cores = availableParallelism();
  const out: string[] = [];
  out.push('', `wampmesh bench, ${new Date().toISOString().slice(0, 10)}: loopback; ${machine()}`);
  if (rows.length === 0 && connections.length === 0 && bridge === undefined) {
    // BENCH_ONLY=mqtt or startup: their own lines alone.
    console.log([...out, ...startup, ...mqtt, `\n(total ${(elapsedMs / 1000).toFixed(0)} s)`].join('\n'));
    return;
  }
  out.push(
    `median of ${rounds} interleaved round(s); RPC payload one ${PAYLOAD.length} B string, latency over ` +
      `${SEQUENTIAL_CALLS} sequential calls, throughput with ${IN_FLIGHT} calls in flight for ${PIPELINE_MS / 1000} s;`,
  );
  out.push(
    'mesh rows: per hop = (A->D - A only) / 3, of the sequential p50 and p99, and of those of calls sent at a fixed rate ' +
      '("paced", open loop, after the pipelined phase).',
  );
  out.push(
    `fan-out to ${SUBSCRIBERS} subscribers: latency with one publication at a time, events/s with ${WINDOW} ` +
      `publications in flight (at most ${LAG_LIMIT} ahead of the slowest subscriber) for ${FANOUT_MS / 1000} s.`,
  );
  out.push(
    'CPU = share of one core: the target process(es), the load generator (this process and its child processes), and the rest of the',
  );
  out.push(
    'machine (other processes, unattributed kernel network work); for RPC rows "sequential | pipelined". A large "other" means the box was busy.',
  );
  out.push(
    "CPU µs/op = the target's CPU time per call (RPC, mesh: all four routers) or per event delivered (fan-out) at full load.",
    '',
  );
  const header =
    `${pad('scenario', 9)}${pad('target', 19)}${pad('transport', 16)}${lpad('p50 µs', 8)}` +
    `${lpad('p99 µs', 8)}${lpad('rate/s', 11)}${lpad('CPU µs/op', 10)} ` +
    ` ${pad('target CPU', 12)}${pad('gen CPU', 12)}${pad('other CPU', 12)}compared (p50 | p99 | rate)`;
  out.push(header, '-'.repeat(header.length + 20));
  for (const row of rows) {
    const { run } = row;
    const cpuCell = (f: (c: Cpu) => number): string =>
      row.seqCpu ? `${pct(f(row.seqCpu))} | ${pct(f(row.cpu))}` : pct(f(row.cpu));
    const comparisons = run.against
      .map((k) => byKey.get(k))
      .filter((b) => b !== undefined)
      .map((base) => {
        if (run.scenario === 'mesh' && base.run.key.endsWith('-mesh-1')) {
          const hops = 3;
          const perHop = (a: { p50: number; p99: number }, b: { p50: number; p99: number }): string =>
            `+${((a.p50 - b.p50) / hops).toFixed(0)} | +${((a.p99 - b.p99) / hops).toFixed(0)} µs per hop`;
          const paced = (row.paced ?? []).map((p, i) => {
            const b = base.paced?.[i];
            return b === undefined ? '' : `; paced at ${int(p.rate)}/s: ${perHop(p, b)}`;
          });
          return `vs A only: ${perHop(row, base)}, ${(row.rate / base.rate).toFixed(2)}x calls/s${paced.join('')}`;
        }
        // Against nexus (another process, another runtime) the CPU per call says more than the
        // rates, which the two cores shared with the generator bound for both.
        const cpuRatio = base.run.key.startsWith('nexus-')
          ? `, ${(row.cpu.target / row.rate / (base.cpu.target / base.rate)).toFixed(2)}x CPU per call`
          : '';
        return (
          `${(row.p50 / base.p50).toFixed(2)}x | ${(row.p99 / base.p99).toFixed(2)}x | ${(row.rate / base.rate).toFixed(2)}x ` +
          `vs ${base.run.name}${base.run.label === run.label ? '' : ` ${base.run.label}`}${cpuRatio}`
        );
      });
    const genBound =
      row.cpu.generator / (run.scenario === 'fan-out' ? FANOUT_CHILDREN + 1 : 1) > 0.9 && row.cpu.target < 0.75;
    const busy = (row.cpu.target + row.cpu.generator + row.cpu.other) / cores > 0.85;
    const notes = [
      ...(comparisons.length > 0 ? comparisons : ['baseline']),
      ...(row.loadedP99 !== undefined ? [`p99 under load ${int(row.loadedP99)} µs`] : []),
      ...(row.lost ? [`${int(row.lost)} events lost`] : []),
      ...(genBound ? ['[generator-bound: rate is a lower bound]'] : busy ? ['[all cores busy]'] : []),
    ];
    // Target CPU time per call (per event for fan-out) at full load: steadier than the rates
    // on a busy machine, where the target gets what the scheduler leaves it.
    const perOp = (row.cpu.target * 1e6) / row.rate;
    // Large payloads: CPU per octet moved (a call moves the payload in and out twice: CALL and
    // INVOCATION, YIELD and RESULT; behind the relay CALL and RESULT, each in and out).
    const size = LARGE_PAYLOADS.find(([, name]) => run.name.endsWith(`, ${name}`))?.[2].length;
    if (size !== undefined) notes.push(`${((perOp * 1000) / (4 * size)).toFixed(2)} ns CPU per octet moved`);
    out.push(
      `${pad(run.scenario, 9)}${pad(run.name, 19)}${pad(run.label, 16)}${lpad(row.p50.toFixed(0), 8)}` +
        `${lpad(row.p99.toFixed(0), 8)}${lpad(int(row.rate), 11)}${lpad(perOp.toFixed(perOp < 10 ? 2 : 1), 10)} ` +
        ` ` +
        `${pad(
          cpuCell((c) => c.target),
          12,
        )}${pad(
          cpuCell((c) => c.generator),
          12,
        )}${pad(
          cpuCell((c) => c.other),
          12,
        )}${notes.join('; ')}`,
    );
  }
  for (const c of connections) {
    const perSession = (c.rssAfter - c.rssBefore) / Math.max(1, c.accepted) / 1024;
    out.push(
      `${pad('conns', 9)}${pad(c.name, 19)}${pad('RawSocket/CBOR', 16)}${int(c.accepted)} idle sessions ` +
        `(${c.failed} failed${c.firstError ? `: ${c.firstError}` : ''}) accepted in ${c.seconds.toFixed(1)} s ` +
        `(${int(c.accepted / c.seconds)}/s); router RSS ${(c.rssBefore / 2 ** 20).toFixed(0)} ` +
        `-> ${(c.rssAfter / 2 ** 20).toFixed(0)} MB: ${perSession.toFixed(1)} KB per session`,
    );
  }
  out.push(...startup);

  if (bridge !== undefined) {
    const cpu = (c: Cpu) => `router+broker ${pct(c.target)}, gen ${pct(c.generator)}, other ${pct(c.other)}`;
    out.push(
      `${pad('bridge', 9)}${pad('router -> MQTT', 19)}${pad('QoS 1', 16)}sustained ${int(bridge.sustainedPerSec)} events/s ` +
        `delivered through the outbox (${int(bridge.ackedPerSec)}/s acknowledged, ${BRIDGE_WINDOW} publications in flight, ` +
        `bridge inflight ${BRIDGE_INFLIGHT}, ${BRIDGE_SUSTAIN_MS / 1000} s; CPU ${cpu(bridge.sustainedCpu)})`,
      `${pad('bridge', 9)}${pad('router -> MQTT', 19)}${pad('QoS 1', 16)}drain after an outage ${int(bridge.drainPerSec)} events/s ` +
        `(${int(DRAIN_EVENTS)} queued on disk; CPU ${cpu(bridge.drainCpu)})`,
    );
  }

  out.push('', 'spread across rounds (min..max):');
  for (const row of rows) {
    const rs = row.run.results;
    const series = rs.every(isRpc)
      ? `p50 ${spread(rs.map((f) => f.p50))} µs, p99 ${spread(rs.map((f) => f.p99))} µs, calls/s ${spread(rs.map((f) => f.callsPerSec))}`
      : `p50 ${spread((rs as FanoutFigures[]).map((f) => f.p50))} µs, p99 ${spread((rs as FanoutFigures[]).map((f) => f.p99))} ` +
        `µs, events/s ${spread((rs as FanoutFigures[]).map((f) => f.eventsPerSec))}`;
    out.push(`  ${pad(row.run.scenario, 9)}${pad(row.run.name, 19)}${pad(row.run.label, 16)}${series}`);
  }

  const targets = issueTargets(byKey, connections, bridge);
  if (targets.length > 0) out.push('', 'targets (issue 7):', ...targets);
  out.push(...mqtt);
  const mesh3 = byKey.get('router-mesh-3');
  if (mesh3)
    out.push(
      '',
      `mesh: ${NODES.join('-')} chain on loopback, checked with \`wampmesh mesh status\` on every node (links only to neighbours, A routes to D via B).`,
    );

  out.push(
    '',
    `generator check: the generator sends pre-encoded frames patched in place and matches replies at fixed offsets (no client`,
    `library, no decoding on the caller or the subscribers' hot path); its CPU is measured like the target's (/proc) and shown beside it.`,
    `A row is marked [generator-bound] when a generator process runs near a full core while the target does not.`,
    `open-file limit of this process and its children: ${fileLimit}.`,
  );
  out.push(`\n(total ${(elapsedMs / 1000).toFixed(0)} s)`);
  console.log(out.join('\n'));
}
