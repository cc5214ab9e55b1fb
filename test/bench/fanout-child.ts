// A load generator process of the fan-out benchmark (bench.ts, fanout.ts): holds a share of
// the 1,000 subscriber sessions, counts every EVENT and, while measuring, records each event's
// delivery latency from the publisher's timestamp (the last argument, a float of ms on the
// machine's monotonic clock, so it is comparable across processes).
//
// Low overhead per event: frames are handed over undecoded (raw-client's onFrame mode); the
// timestamp is read at a fixed place (CBOR: the float64 that ends the frame) or parsed from the
// text after a marker (JSON). Progress (events per session) goes to the parent every 10 ms so
// the publisher can stay a bounded number of publications ahead of the slowest subscriber.
//
// IPC commands: connect {transport, serializer, port, url, count, topic, realm}, measure
// {on: boolean}, close. Prints {"ready": true} once it takes commands.

import { connect, type RawClient } from '../helpers/raw-client.ts';
import { eventTimestamp, Histogram, monoMs, serveParent } from './common.ts';

interface Subscriber {
  client: RawClient;
  events: number;
}

let subscribers: Subscriber[] = [];
let measuring = false;
let histogram = new Histogram();
let measuredEvents = 0;
let progressTimer: NodeJS.Timeout | undefined;
let lastMin = -1;

function onEvent(s: Subscriber, payload: Uint8Array | string): void {
  s.events++;
  if (!measuring) return;
  measuredEvents++;
  const ts = eventTimestamp(payload);
  if (!Number.isNaN(ts)) histogram.record((monoMs() - ts) * 1000);
}

function reportProgress(): void {
  let min = Infinity;
  let total = 0;
  for (const s of subscribers) {
    if (s.events < min) min = s.events;
    total += s.events;
  }
  if (min === lastMin) return;
  lastMin = min;
  process.send!({ progress: { min, total } });
}

async function open(command: Record<string, unknown>): Promise<Subscriber> {
  const client = await connect({
    transport: command.transport as 'rawsocket' | 'websocket',
    serializer: command.serializer as 'cbor' | 'json',
    port: command.port as number,
    url: command.url as string,
    websocketImpl: 'net',
    timeoutMs: 20_000,
  });
  await client.join(command.realm as string, {}, 20_000);
  await client.subscribe(command.topic as string, 20_000);
  const s: Subscriber = { client, events: 0 };
  client.rawMode((payload) => onEvent(s, payload));
  return s;
}

serveParent(async (command) => {
  switch (command.cmd) {
    case 'connect': {
      const count = command.count as number;
      // A bounded number of handshakes at a time: the listen backlog stays small.
      const opened: Subscriber[] = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          next++;
          opened.push(await open(command));
        }
      };
      await Promise.all(Array.from({ length: Math.min(50, count) }, worker));
      subscribers = opened;
      lastMin = -1;
      progressTimer = setInterval(reportProgress, 10);
      return { connected: opened.length };
    }
    case 'measure':
      if (command.on === true) {
        histogram = new Histogram();
        measuredEvents = 0;
        measuring = true;
        return {};
      }
      measuring = false;
      return {
        events: measuredEvents,
        histogram: histogram.counts,
        total: subscribers.reduce((a, s) => a + s.events, 0),
      };
    case 'close': {
      clearInterval(progressTimer);
      const all = subscribers;
      subscribers = [];
      const total = all.reduce((a, s) => a + s.events, 0);
      await Promise.all(all.map((s) => s.client.destroy()));
      return { total };
    }
    default:
      throw new Error(`unknown command ${String(command.cmd)}`);
  }
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
