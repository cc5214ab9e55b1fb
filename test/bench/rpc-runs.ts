// The RPC rows of the bench (BENCH_ONLY=rpc, payload): each router beside the relays that bound
// it (no WAMP, or only the JSON codec), fox-wamp, nexus and itself with /metrics counting.

import { cbor, json } from '../../src/serializers/index.ts';
import { startChild } from './common.ts';
import { overRawSocket, overWebSocket, rpcRun, type Run } from './runs.ts';
import { baseBin, here, LARGE_PAYLOADS, vsNexus } from './settings.ts';
import type { Cleanup, Targets } from './targets.ts';

/** BENCH_ONLY=rpc: small calls over RawSocket/CBOR, RawSocket/JSON and WebSocket/JSON. */
export async function addRpcRuns(t: Targets, runs: Run[], cleanup: Cleanup): Promise<void> {
  const { routers, metered, foxUrl, foxPids, nexusRpc } = t;
  const relay = await startChild(here('relay.ts'));
  cleanup.push(() => relay.stop());
  const relayPort = relay.hello.relay as number;
  const relayPids = [relay.pid];
  runs.push(
    rpcRun('relay-cbor', {
      name: 'relay (no WAMP)',
      pids: relayPids,
      transport: 'rawsocket',
      serializer: cbor,
      port: relayPort,
      url: '',
      wamp: false,
    }),
  );
  for (const r of routers) {
    const p = r.process!;
    runs.push(
      rpcRun(`${r.key}-rpc-cbor`, { ...overRawSocket(p), name: r.name, wamp: true }, [
        'relay-cbor',
        ...(r.key === 'base' ? [] : [...(baseBin ? ['base-rpc-cbor'] : []), ...vsNexus('rpc-cbor')]),
      ]),
    );
  }
  nexusRpc('rpc-cbor', 'nexus', { transport: 'rawsocket', serializer: cbor });
  runs.push(
    rpcRun('relay-json', {
      name: 'relay (no WAMP)',
      pids: relayPids,
      transport: 'rawsocket',
      serializer: json,
      port: relayPort,
      url: '',
      wamp: false,
    }),
  );
  const wsRelay = await startChild(here('ws-relay.ts'));
  cleanup.push(() => wsRelay.stop());
  runs.push(
    rpcRun('wsrelay-json', {
      name: 'relay (no WAMP)',
      pids: [wsRelay.pid],
      transport: 'websocket',
      serializer: json,
      port: 0,
      url: `ws://127.0.0.1:${wsRelay.hello.wsRelay as number}/`,
      wamp: false,
    }),
  );
  const codecRelay = await startChild(here('ws-relay.ts'), ['--json-codec']);
  cleanup.push(() => codecRelay.stop());
  runs.push(
    rpcRun(
      'wsrelay-codec',
      {
        name: 'relay + JSON codec',
        pids: [codecRelay.pid],
        transport: 'websocket',
        serializer: json,
        port: 0,
        url: `ws://127.0.0.1:${codecRelay.hello.wsRelay as number}/`,
        wamp: false,
      },
      ['wsrelay-json', 'fox-rpc'],
    ),
  );
  for (const r of routers) {
    const p = r.process!;
    runs.push(
      rpcRun(`${r.key}-rpc-ws`, { ...overWebSocket(p), name: r.name, wamp: true }, [
        'wsrelay-json',
        'fox-rpc',
        ...(r.key === 'base' ? [] : [...(baseBin ? ['base-rpc-ws'] : []), ...vsNexus('rpc-ws')]),
      ]),
    );
  }
  nexusRpc('rpc-ws', 'nexus', { transport: 'websocket', serializer: json });
  runs.push(
    rpcRun('fox-rpc', {
      name: 'fox-wamp',
      pids: foxPids,
      transport: 'websocket',
      serializer: json,
      port: 0,
      url: foxUrl,
      wamp: true,
    }),
  );
  runs.push(
    rpcRun('metrics-rpc-cbor', { ...overRawSocket(metered!), name: 'router + metrics', wamp: true }, [
      'router-rpc-cbor',
    ]),
  );
  runs.push(
    rpcRun('metrics-rpc-ws', { ...overWebSocket(metered!), name: 'router + metrics', wamp: true }, ['router-rpc-ws']),
  );
}

/** BENCH_ONLY=payload: large arguments echoed, router and relay (and nexus). */
export async function addPayloadRuns(t: Targets, runs: Run[], cleanup: Cleanup): Promise<void> {
  const { routers, nexusRpc } = t;
  // Large arguments echoed (the callee answers with as many octets as it got): what
  // passthrough and the copies on the way cost, per octet moved.
  const relay = await startChild(here('relay.ts'));
  cleanup.push(() => relay.stop());
  for (const [key, size, payload] of LARGE_PAYLOADS) {
    runs.push(
      rpcRun(`relay-${key}`, {
        name: `relay, ${size}`,
        pids: [relay.pid],
        transport: 'rawsocket',
        serializer: cbor,
        port: relay.hello.relay as number,
        url: '',
        wamp: false,
        payload,
      }),
    );
    for (const r of routers) {
      const p = r.process!;
      runs.push(
        rpcRun(
          `${r.key}-rpc-${key}`,
          { ...overRawSocket(p), name: `${r.name === 'router' ? 'router' : 'base'}, ${size}`, wamp: true, payload },
          [
            `relay-${key}`,
            ...(r.key === 'base' ? [] : [...(baseBin ? [`base-rpc-${key}`] : []), ...vsNexus(`rpc-${key}`)]),
          ],
        ),
      );
    }
    nexusRpc(`rpc-${key}`, `nexus, ${size}`, { transport: 'rawsocket', serializer: cbor, payload });
  }
}
