// The targets the issues set for this router ("router" rows), each printed as met or MISSED with
// the figures it was judged on.

import type { BridgeFigures } from './bridge.ts';
import type { Connections } from './connections.ts';
import { SUBSCRIBERS } from './fanout.ts';
import { int, pct } from './format.ts';
import type { Row } from './runs.ts';
import { CONNECTIONS } from './settings.ts';

/** The lines under "targets (issue 7):", empty when no row of a target ran. */
export function issueTargets(
  byKey: ReadonlyMap<string, Row>,
  connections: readonly Connections[],
  bridge: BridgeFigures | undefined,
): string[] {
  const targets: string[] = [];
  const check = (ok: boolean, text: string): void => {
    targets.push(`  [${ok ? 'met' : 'MISSED'}] ${text}`);
  };
  const r = (k: string): Row | undefined => byKey.get(k);
  const rpcCbor = r('router-rpc-cbor');
  const relayCbor = r('relay-cbor');
  if (rpcCbor && relayCbor) {
    // As the issue counts: a call is four messages through the router (CALL, INVOCATION, YIELD,
    // RESULT) and two through the relay (it forwards the CALL and the RESULT).
    check(
      rpcCbor.rate * 4 >= 0.5 * relayCbor.rate * 2,
      `pipelined RPC RawSocket/CBOR >= 50% of the relay's message rate, counted as the issue does (4 messages per call through the router, 2 ` +
        `through the relay): ${int(rpcCbor.rate * 4)} vs ${int(relayCbor.rate * 2)} messages/s, ${pct((rpcCbor.rate * 4) / (relayCbor.rate * 2))}`,
    );
    // Stricter: frames into and out of the process, four per call for both (router: CALL in,
    // INVOCATION out, YIELD in, RESULT out; relay: CALL in and out, RESULT in and out), which is
    // the calls/s ratio.
    check(
      rpcCbor.rate >= 0.5 * relayCbor.rate,
      `the same counting frames in and out of the process (4 per call for both, i.e. calls/s): ` +
        `${int(rpcCbor.rate * 4)} vs ${int(relayCbor.rate * 4)} frames/s, ${pct(rpcCbor.rate / relayCbor.rate)}`,
    );
    check(rpcCbor.rate >= 100_000, `pipelined RPC RawSocket/CBOR >= 100,000 calls/s: ${int(rpcCbor.rate)}`);
    check(
      rpcCbor.p99 <= 2 * relayCbor.p99,
      `sequential RPC p99 within 2x the relay's round trip (RawSocket/CBOR): ${rpcCbor.p99.toFixed(0)} ` +
        `vs ${relayCbor.p99.toFixed(0)} µs, ${(rpcCbor.p99 / relayCbor.p99).toFixed(2)}x`,
    );
  }
  const kb10 = r('router-rpc-10k');
  const nexus10 = r('nexus-rpc-10k');
  if (kb10 && nexus10)
    check(
      kb10.rate >= 3 * nexus10.rate,
      `issue 23: calls/s with a 10 KB argument echoed >= 3x nexus's (RawSocket/CBOR): ${int(kb10.rate)} vs ` +
        `${int(nexus10.rate)}, ${(kb10.rate / nexus10.rate).toFixed(2)}x`,
    );
  const rpcWs = r('router-rpc-ws');
  const foxRpc = r('fox-rpc');
  if (rpcWs && foxRpc) {
    check(
      rpcWs.rate >= 10 * foxRpc.rate,
      `>= 10x fox-wamp's calls/s on WebSocket/JSON: ${int(rpcWs.rate)} vs ${int(foxRpc.rate)}, ${(rpcWs.rate / foxRpc.rate).toFixed(1)}x`,
    );
    // What bounds it: uWS forwarding the same frames with no WAMP work at all.
    const wsRelay = r('wsrelay-json');
    if (wsRelay)
      targets.push(
        `        the WebSocket relay (uWS, no WAMP) forwards ${int(wsRelay.rate)} calls/s, ` +
          `${(wsRelay.rate / foxRpc.rate).toFixed(1)}x fox-wamp; the router is at ${pct(rpcWs.rate / wsRelay.rate)} of it`,
      );
    // ...and uWS plus only decoding and re-encoding each message, which any router must do.
    const codecRelay = r('wsrelay-codec');
    if (codecRelay)
      targets.push(
        `        the same relay decoding and re-encoding every message with the router's JSON codec ` +
          `(no session, no routing) forwards ${int(codecRelay.rate)} ` +
          `calls/s, ${(codecRelay.rate / foxRpc.rate).toFixed(1)}x fox-wamp; the router is at ${pct(rpcWs.rate / codecRelay.rate)} of it`,
      );
  }
  const fanWs = r('router-fan-ws');
  const foxFan = r('fox-fan');
  if (fanWs && foxFan)
    check(
      fanWs.rate >= 10 * foxFan.rate,
      `>= 10x fox-wamp's events/s on WebSocket/JSON: ${int(fanWs.rate)} vs ${int(foxFan.rate)}, ${(fanWs.rate / foxFan.rate).toFixed(1)}x`,
    );
  const fanCbor = r('router-fan-cbor');
  if (fanCbor)
    check(
      fanCbor.rate >= 1_000_000,
      `fan-out >= 1,000,000 events/s delivered to ${SUBSCRIBERS} subscribers (RawSocket/CBOR): ${int(fanCbor.rate)}`,
    );
  if (bridge !== undefined)
    check(
      bridge.sustainedPerSec >= 20_000,
      `bridge: >= 20,000 events/s through the outbox (synchronous=FULL, group commit) to mosquitto: ${int(bridge.sustainedPerSec)}`,
    );
  const conns = connections.find((c) => c.name === 'router');
  if (conns) {
    const kb = (conns.rssAfter - conns.rssBefore) / Math.max(1, conns.accepted) / 1024;
    check(
      conns.accepted === CONNECTIONS && conns.rssAfter - conns.rssBefore < 100 * 2 ** 20 && kb < 10,
      `${int(CONNECTIONS)} idle sessions in under 100 MB of router RSS (< 10 KB each): ${int(conns.accepted)} sessions, ` +
        `+${((conns.rssAfter - conns.rssBefore) / 2 ** 20).toFixed(0)} MB (${(conns.rssBefore / 2 ** 20).toFixed(0)} MB idle before), ${kb.toFixed(1)} KB each`,
    );
  }
  for (const [k, base] of [
    ['metrics-rpc-cbor', 'router-rpc-cbor'],
    ['metrics-rpc-ws', 'router-rpc-ws'],
  ] as const) {
    const on = r(k);
    const off = r(base);
    if (on && off)
      check(
        on.rate >= 0.97 * off.rate,
        `issue 15: pipelined calls/s with /metrics counting within 3% of without (${on.run.label}): ${int(on.rate)} vs ${int(off.rate)}, ${((on.rate / off.rate - 1) * 100).toFixed(1)}%`,
      );
  }
  const fanOn = r('metrics-fan-cbor');
  if (fanOn && fanCbor)
    check(
      fanOn.rate >= 0.97 * fanCbor.rate,
      `issue 15: fan-out events/s with /metrics counting within 3% of without (RawSocket/CBOR): ${int(fanOn.rate)} vs ${int(fanCbor.rate)}, ${((fanOn.rate / fanCbor.rate - 1) * 100).toFixed(1)}%`,
    );
  return targets;
}
