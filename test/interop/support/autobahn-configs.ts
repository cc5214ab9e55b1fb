// The client configurations every Autobahn|JS test runs in, and how each carries byte strings:
// the RawSocket transport has no JSON hook, so there the application writes WAMP's form itself.

import type { SerializerName } from './autobahn-js.ts';

export interface Config {
  readonly name: string;
  readonly transport: 'websocket' | 'rawsocket';
  readonly serializer: SerializerName;
}

export const CONFIGS: readonly Config[] = [
  { name: 'WebSocket/json', transport: 'websocket', serializer: 'json' },
  { name: 'WebSocket/msgpack', transport: 'websocket', serializer: 'msgpack' },
  { name: 'WebSocket/cbor', transport: 'websocket', serializer: 'cbor' },
  { name: 'RawSocket/json', transport: 'rawsocket', serializer: 'json' },
];

// The RawSocket transport JSON-encodes with no replacer/reviver hook, so there the
// application itself writes byte strings in WAMP's JSON form (NUL + base64) and reads them
// back. Everywhere else the serializer does it. Tests compare logical values either way.
export function toWire(config: Config, value: unknown): unknown {
  if (config.transport !== 'rawsocket') return value;
  if (value instanceof Uint8Array) return '\0' + Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map((v) => toWire(config, v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(config, v)]));
  }
  return value;
}

export function fromWire(config: Config, value: unknown): unknown {
  if (config.transport !== 'rawsocket') return value;
  if (typeof value === 'string' && value.startsWith('\0')) return Buffer.from(value.slice(1), 'base64');
  if (Array.isArray(value)) return value.map((v) => fromWire(config, v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromWire(config, v)]));
  }
  return value;
}
