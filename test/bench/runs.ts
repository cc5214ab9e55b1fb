// One row of the bench table: a target measured in every round (RPC, fan-out or mesh), what it is
// compared with, and the medians its rounds sum up to.

import { cbor, json } from '../../src/serializers/index.ts';
import type { RouterProcess } from '../helpers/router-process.ts';
import { median, medianCpu, type BenchTarget, type Child, type Cpu } from './common.ts';
import { measureFanout, type FanoutFigures, type FanoutTarget } from './fanout.ts';
import { measureRpc, type RpcFigures, type RpcTarget } from './rpc.ts';

export type Scenario = 'RPC' | 'fan-out' | 'mesh';

export interface Run {
  readonly scenario: Scenario;
  readonly name: string;
  readonly label: string;
  /** What the row is compared with, by key of another run; undefined: it is a baseline. */
  readonly against: readonly string[];
  readonly key: string;
  measure(): Promise<RpcFigures | FanoutFigures>;
  results: (RpcFigures | FanoutFigures)[];
}

type Connection = Omit<BenchTarget, 'name'>;

/** A router process as a target over RawSocket/CBOR (name and the rest are the row's). */
export const overRawSocket = (p: RouterProcess): Connection =>
  ({ pids: [p.pid], transport: 'rawsocket', serializer: cbor, port: p.rawsocketPort, url: '' }) as const;

/** The same over WebSocket/JSON. */
export const overWebSocket = (p: RouterProcess): Connection =>
  ({ pids: [p.pid], transport: 'websocket', serializer: json, port: 0, url: p.wsUrl }) as const;

const label = (transport: string, serializer: string): string =>
  `${transport === 'rawsocket' ? 'RawSocket' : 'WebSocket'}/${serializer.toUpperCase()}`;

export function rpcRun(key: string, target: RpcTarget, against: string[] = [], scenario: Scenario = 'RPC'): Run {
  return {
    scenario,
    name: target.name,
    label: label(target.transport, target.serializer.name),
    against,
    key,
    measure: () => measureRpc(target),
    results: [],
  };
}

export function fanoutRun(key: string, target: FanoutTarget, children: readonly Child[], against: string[] = []): Run {
  return {
    scenario: 'fan-out',
    name: target.name,
    label: label(target.transport, target.serializer.name),
    against,
    key,
    measure: () => measureFanout(target, children),
    results: [],
  };
}

export function isRpc(f: RpcFigures | FanoutFigures): f is RpcFigures {
  return 'callsPerSec' in f;
}

export interface Row {
  run: Run;
  p50: number;
  p99: number;
  rate: number;
  cpu: Cpu;
  seqCpu?: Cpu;
  loadedP99?: number;
  lost?: number;
  /** RPC rows with paced calls: per rate, the medians of p50 and p99. */
  paced?: { rate: number; p50: number; p99: number }[];
}

export function summarize(run: Run): Row {
  const rs = run.results;
  if (rs.every(isRpc)) {
    return {
      run,
      p50: median(rs.map((f) => f.p50)),
      p99: median(rs.map((f) => f.p99)),
      rate: median(rs.map((f) => f.callsPerSec)),
      cpu: medianCpu(rs.map((f) => f.pipeCpu)),
      seqCpu: medianCpu(rs.map((f) => f.seqCpu)),
      ...(rs[0]!.paced !== undefined && {
        paced: rs[0]!.paced.map(({ rate }, i) => ({
          rate,
          p50: median(rs.map((f) => f.paced![i]!.p50)),
          p99: median(rs.map((f) => f.paced![i]!.p99)),
        })),
      }),
    };
  }
  const fs = rs as FanoutFigures[];
  return {
    run,
    p50: median(fs.map((f) => f.p50)),
    p99: median(fs.map((f) => f.p99)),
    rate: median(fs.map((f) => f.eventsPerSec)),
    cpu: medianCpu(fs.map((f) => f.cpu)),
    loadedP99: median(fs.map((f) => f.loadedP99)),
    lost: Math.max(...fs.map((f) => f.lost)),
  };
}
