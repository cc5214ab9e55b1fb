// The RPC load of the benchmark: a caller and a callee on test/helpers/raw-client.ts in
// low-overhead mode. CALL frames are pre-encoded once and only the fixed-width request ID is
// patched per call; RESULT IDs are read at a fixed offset. The callee decodes each INVOCATION
// (or, behind the relay, the CALL itself) and encodes a YIELD (or RESULT), so the generator
// does the same work per call against every target.
//
// Measured per target: sequential latency (p50/p99 of SEQUENTIAL_CALLS calls after a warm-up)
// and pipelined throughput (IN_FLIGHT calls kept in flight for PIPELINE_MS after a warm-up);
// when asked (RpcTarget.paced), then the latency of calls sent at fixed rates (see PACED_MS).

import { connect, type RawClient } from '../helpers/raw-client.ts';
import { cpuWindow, PAYLOAD, type BenchTarget, type Cpu } from './common.ts';
import { AnswerTemplate, CallTemplate, resultId } from './rpc-frames.ts';

export const SEQUENTIAL_WARMUP = 500;
export const SEQUENTIAL_CALLS = 3_000;
export const IN_FLIGHT = 1_000;
// PIPELINE_WARMUP_MS=20000 (mesh-roles.ts) measures a router after 20 s of pipelined load: what
// builds up only over a long run (the middle nodes' full collections) shows there.
export const PIPELINE_WARMUP_MS = Number(process.env.PIPELINE_WARMUP_MS ?? 500);
export const PIPELINE_MS = 3_000;
// BENCH_SEQUENTIAL_GAP=1: each sequential call sent a millisecond after the last one's answer
// (a timer) rather than at once. On the box of BENCHMARKS.md a call sent at once after an
// answer takes about twice as long as one sent after a pause, through the bare relay as through
// the router (sixteenth session): a property of the machine, which this shows.
const sequentialGap = process.env.BENCH_SEQUENTIAL_GAP === '1';
export interface RpcTarget extends BenchTarget {
  /** Where the callee connects, when not to the caller's router (mesh: the far end of the chain). */
  readonly callee?: { readonly port: number };
  /** true: a WAMP router (join, register, INVOCATION/YIELD); false: the relay (raw CALL/RESULT). */
  readonly wamp: boolean;
  /** The registration must travel to the caller's router first (mesh): poll until calls succeed. */
  readonly waitForRoute?: boolean;
  /** The one string argument of every CALL and YIELD (default PAYLOAD, 32 B). */
  readonly payload?: string;
  /**
   * Calls one at a time for at least this long before the first measurement of this target (of
   * its `name`) in this process: the mesh chain's four routers are still optimizing their code
   * for ~20 s of such calls (hop-floor.ts), which its later rounds need not repeat.
   */
  readonly warmUpMs?: number;
  /** Rates (calls/s) at which calls are also sent paced, after the pipelined phase (RpcFigures.paced). */
  readonly paced?: readonly number[];
}

/** Targets (by name) already warmed up for their warmUpMs. */
const warmed = new Set<string>();

// Large payloads: fewer calls in flight (at most ~12 MiB of CALLs outstanding) and fewer sequential
// calls (~64 MB), so a row takes seconds, not minutes, and the generator's buffers stay small.
// Below the router's outbound hard limit (16 MiB, limits.ts): with 16 MiB in flight, a callee
// that fell behind for a moment had every INVOCATION queued at once and was closed as a slow
// consumer, failing the 1 MB row.
const inFlightFor = (payload: string): number =>
  Math.max(4, Math.min(IN_FLIGHT, Math.floor((12 * 2 ** 20) / payload.length)));
const sequentialFor = (payload: string, n: number): number =>
  Math.max(100, Math.min(n, Math.floor(2 ** 26 / payload.length)));

export interface RpcFigures {
  p50: number;
  p99: number;
  callsPerSec: number;
  seqCpu: Cpu;
  pipeCpu: Cpu;
  /** With limits.paced: per rate asked for, the calls' latency when sent at that rate (open loop). */
  paced?: PacedFigures[];
}

export interface PacedFigures {
  /** Calls per second asked for, and sent. */
  rate: number;
  sent: number;
  p50: number;
  p99: number;
}

// Paced calls: sent by the clock, not by the answers (open loop), so that a path's latency under
// load is compared at one rate for every target rather than at one number of calls in flight
// (where, by Little's law, the slower target's calls wait longer by as much as its rate is
// lower). Timers fire about every millisecond: each sends the calls due by then, at once.
const PACED_MS = 3_000;
const PACED_WARMUP_MS = 500;

let registrations = 0;

export async function measureRpc(
  target: RpcTarget,
  limits: { sequential: number; pipelineMs: number; paced?: readonly number[] } = {
    sequential: SEQUENTIAL_CALLS,
    pipelineMs: PIPELINE_MS,
  },
  /** Told when each measured phase starts (true) and ends (false): mesh-roles.ts reads /proc then. */
  onPhase?: (phase: 'sequential' | 'pipelined', start: boolean) => void,
): Promise<RpcFigures> {
  const s = target.serializer;
  // WebSocket: raw-client's own RFC 6455 client on node:net (frames corked per tick, no
  // per-message events); BENCH_WS=global uses Node's WebSocket (undici) instead.
  const websocketImpl = process.env.BENCH_WS === 'global' ? 'global' : 'net';
  const open = (port: number): Promise<RawClient> =>
    connect({
      transport: target.transport,
      serializer: s,
      port,
      url: target.url,
      timeoutMs: 10_000,
      websocketImpl,
    });
  // A fresh procedure each time: a mesh router may still know the previous one's callee.
  const procedure = `bench.echo.${++registrations}`;
  // Callee first: behind the relay, the first connection of a pair is the callee's.
  const callee = await open(target.callee?.port ?? target.port);
  if (target.wamp) {
    await callee.join();
    await callee.register(procedure);
  }
  const caller = await open(target.port);
  if (target.wamp) await caller.join();

  const replyType = target.wamp ? 70 : 50;
  const replyTo = target.wamp ? 68 : 48;
  const framed = target.transport === 'rawsocket';
  const payload = target.payload ?? PAYLOAD;
  const inFlight = inFlightFor(payload);
  const answers = new AnswerTemplate(s, replyTo, replyType, framed, payload);
  const answer = (payload: Uint8Array | string): void => {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const reply = answers.answer(bytes);
    if (reply !== undefined) {
      if (framed) callee.sendFramed(reply);
      else callee.sendFrame(typeof payload === 'string' ? reply.toString('utf8') : reply);
      return;
    }
    // Anything else is decoded, tolerant of routers that send null for an absent ArgumentsKw
    // (fox-wamp): only the request ID and the arguments are read.
    const m = s.decode(bytes) as unknown[];
    if (m[0] !== replyTo) return;
    // INVOCATION [68, id, reg, {}, args] -> YIELD [70, id, {}, args];
    // CALL [48, id, {}, proc, args] -> RESULT [50, id, {}, args]. Arguments sit at index 4 in both.
    callee.send([replyType, m[1], {}, m[4]]);
  };
  if (target.waitForRoute) {
    // Until the registration has reached the caller's router, calls fail with no_such_procedure.
    callee.serveEcho();
    const deadline = performance.now() + 20_000;
    for (;;) {
      const reply = await caller.call(procedure, [PAYLOAD], {}, 5_000);
      if (reply[0] === 50) break;
      if (performance.now() > deadline)
        throw new Error(`${target.name}: ${procedure} not reachable: ${JSON.stringify(reply)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  callee.rawMode(answer);

  // Node's WebSocket takes text frames as strings; raw-client's own takes bytes.
  const template = new CallTemplate(
    s,
    procedure,
    target.transport === 'websocket' && !s.binary && websocketImpl === 'global',
    framed,
    payload,
  );
  const sendCall = framed
    ? (id: number): void => caller.sendFramed(template.frame(id) as Buffer)
    : (id: number): void => caller.sendFrame(template.frame(id));
  let nextId = 0x1000_0000;
  let onResult: (id: number) => void = () => undefined;
  caller.rawMode((payload) => {
    const id = resultId(payload, s);
    if (id === undefined)
      throw new Error(
        `unexpected reply: ${typeof payload === 'string' ? payload : Buffer.from(payload).toString('hex')}`,
      );
    onResult(id);
  });

  // A lost reply would stall a run forever; fail loudly instead.
  const guard = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`${target.name} ${target.transport}/${s.name}: ${what} did not complete within ${ms} ms`)),
          ms,
        );
      }),
    ])
      .finally(() => clearTimeout(timer))
      .catch(async (error: unknown) => {
        // Closed first: answers that still come (a router's GOODBYE as it is stopped, errors for
        // the calls left in flight) would otherwise throw in the reply handlers above.
        await caller.destroy();
        await callee.destroy();
        throw error;
      });
  };

  // Sequential: one call at a time, each timed.
  const sequential = (n: number, samples: Float64Array | null): Promise<void> =>
    new Promise((resolve) => {
      let done = 0;
      let sentAt = 0;
      const send = (): void => {
        sentAt = performance.now();
        sendCall(nextId++);
      };
      onResult = () => {
        if (samples !== null) samples[done] = performance.now() - sentAt;
        if (++done === n) resolve();
        else if (sequentialGap) setTimeout(send, 1);
        else send();
      };
      send();
    });
  await guard(sequential(sequentialFor(payload, SEQUENTIAL_WARMUP), null), 20_000, 'sequential warm-up');
  if (target.warmUpMs !== undefined && !warmed.has(target.name)) {
    warmed.add(target.name);
    for (const until = performance.now() + target.warmUpMs; performance.now() < until; )
      await guard(sequential(sequentialFor(payload, SEQUENTIAL_WARMUP), null), 20_000, 'sequential warm-up');
  }
  const samples = new Float64Array(sequentialFor(payload, limits.sequential));
  onPhase?.('sequential', true);
  const seqWindow = cpuWindow(target.pids);
  await guard(sequential(samples.length, samples), 30_000, 'sequential calls');
  const seqCpu = seqWindow.stop();
  onPhase?.('sequential', false);
  samples.sort();
  const pct = (p: number): number => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]! * 1000;

  // Pipelined: IN_FLIGHT calls outstanding; each result sends the next.
  const pipelined = (ms: number): Promise<number> =>
    new Promise((resolve) => {
      let completed = 0;
      let stopping = false;
      let outstanding = 0;
      const started = performance.now();
      onResult = () => {
        outstanding--;
        completed++;
        if (!stopping && performance.now() - started >= ms) stopping = true;
        if (!stopping) {
          sendCall(nextId++);
          outstanding++;
        } else if (outstanding === 0) {
          resolve(completed / ((performance.now() - started) / 1000));
        }
      };
      for (let i = 0; i < inFlight; i++) sendCall(nextId++);
      outstanding = inFlight;
    });
  await guard(pipelined(PIPELINE_WARMUP_MS), PIPELINE_WARMUP_MS + 10_000, 'pipelined warm-up');
  onPhase?.('pipelined', true);
  const pipeWindow = cpuWindow(target.pids);
  const callsPerSec = await guard(pipelined(limits.pipelineMs), limits.pipelineMs + 10_000, 'pipelined calls');
  const pipeCpu = pipeWindow.stop();
  onPhase?.('pipelined', false);

  // Paced: calls sent at a fixed rate whatever the answers; each one's time from its send.
  const paced = (rate: number): Promise<PacedFigures> =>
    new Promise((resolve, reject) => {
      const total = Math.round((rate * (PACED_WARMUP_MS + PACED_MS)) / 1000);
      const skip = Math.round((rate * PACED_WARMUP_MS) / 1000);
      const firstId = nextId;
      const sentAt = new Float64Array(total);
      const took = new Float64Array(total - skip);
      let sent = 0;
      let answered = 0;
      const started = performance.now();
      onResult = (id) => {
        const n = id - firstId;
        if (n >= skip) took[n - skip] = performance.now() - sentAt[n]!;
        if (++answered === total) {
          took.sort();
          const at = (p: number): number => took[Math.min(took.length - 1, Math.floor(p * took.length))]! * 1000;
          resolve({ rate, sent: (total * 1000) / (sentAt[total - 1]! - started), p50: at(0.5), p99: at(0.99) });
        }
      };
      const tick = (): void => {
        try {
          const now = performance.now();
          const due = Math.min(total, Math.floor(((now - started) * rate) / 1000) + 1);
          for (; sent < due; sent++) {
            // The realm's limit on a session's calls waiting for an answer (IN_FLIGHT).
            if (sent - answered >= IN_FLIGHT)
              throw new Error(
                `${target.name}: ${IN_FLIGHT} calls unanswered at ${rate} calls/s: above what it carries`,
              );
            sentAt[sent] = now;
            sendCall(nextId++);
          }
          if (sent < total) setTimeout(tick, 1);
        } catch (error) {
          reject(error);
        }
      };
      tick();
    });
  const pacedFigures: PacedFigures[] = [];
  for (const rate of limits.paced ?? target.paced ?? [])
    pacedFigures.push(await guard(paced(rate), PACED_WARMUP_MS + PACED_MS + 20_000, `calls paced at ${rate}/s`));

  await caller.destroy();
  await callee.destroy();
  return {
    p50: pct(0.5),
    p99: pct(0.99),
    callsPerSec,
    seqCpu,
    pipeCpu,
    ...(pacedFigures.length > 0 && { paced: pacedFigures }),
  };
}
