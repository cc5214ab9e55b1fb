import { cbor } from './cbor.ts';
import { json, jsonText } from './json.ts';
import { msgpack } from './msgpack.ts';
import type { Serializer } from './serializer.ts';

export { cbor, json, jsonText, msgpack };
export type { Serializer, SerializerName } from './serializer.ts';

export const serializers: readonly Serializer[] = [json, msgpack, cbor];

export function serializerByRawsocketId(id: number): Serializer | undefined {
  return serializers.find((s) => s.rawsocketId === id);
}

export function serializerBySubprotocol(name: string): Serializer | undefined {
  return serializers.find((s) => s.subprotocol === name);
}
