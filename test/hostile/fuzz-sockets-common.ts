// What the socket fuzz's cases (fuzz-sockets.test.ts) share: the limits the router runs with,
// the time bound every connection is held to, the probe CALL, the payloads thrown at a
// connection, and the check of a message from the router.

import type { Serializer } from '../../src/serializers/index.ts';
import { parseMessage, ProtocolViolation } from '../../src/wamp/parse.ts';
import {
  deepBytes,
  exoticBytes,
  mutateBytes,
  mutateValue,
  randomValue,
  type Rng,
  withSplicedValue,
} from '../helpers/fuzz-input.ts';
import { SERIALIZERS, ROUTER_TO_CLIENT, show } from '../helpers/fuzz-checks.ts';
import { seedCorpus } from './fuzz-corpus.ts';

// Small, so oversized RawSocket lengths are cheap to send and lying ones cheap to complete.
export const SOCKET_MAX = 1 << 16;
export const SOCKET_LENGTH_NIBBLE = 7; // 2^(9+7) = SOCKET_MAX
/** Every connection must be answered or closed within this. */
export const BOUND_MS = 5_000;
export const PROBE_ID = 2 ** 53 - 7;

export interface SocketTally {
  connections: number;
  frames: number;
  aborted: number;
  answered: number;
  closed: number;
  refused: number;
}

/** Seed frames and their decoded messages, per serializer. */
const corpus = new Map(SERIALIZERS.map((s) => [s.name, seedCorpus(s)] as const));

/**
 * A WAMP payload to throw at a connection: valid, mutated at the value or byte level, deep,
 * exotic. `hostility`: how often it is not a valid message.
 */
export function socketPayload(rng: Rng, s: Serializer, hostility = 0.8): Uint8Array {
  const { frames, messages } = corpus.get(s.name)!;
  const valid = (): unknown[] =>
    rng.pick<unknown[]>([
      [48, 1 + rng.int(50), {}, 'probe.echo', [randomValue(rng)]],
      [
        48,
        1 + rng.int(50),
        { receive_progress: true, timeout: rng.pick([1, 50, 2 ** 31, 2 ** 40]) },
        'probe.echo',
        ['x'],
        { k: randomValue(rng) },
      ],
      [16, 1 + rng.int(50), { acknowledge: true, retain: rng.chance(0.3) }, 'com.fuzz.topic', [randomValue(rng)]],
      [32, 1 + rng.int(50), { get_retained: true }, 'com.fuzz.topic'],
      [64, 1 + rng.int(50), {}, `com.fuzz.socket.${rng.int(3)}`],
      [
        48,
        1 + rng.int(50),
        {},
        'wamp.session.add_testament',
        ['com.fuzz.topic', [randomValue(rng)]],
        { publish_options: { retain: true } },
      ],
      [70, 1 + rng.int(5), {}, [randomValue(rng)]],
    ]);
  // The vectors hold every message type (WELCOME, EVENT...): material for mutations.
  const base = (): unknown[] => (rng.chance(0.3) ? rng.pick(messages) : valid());
  const encode = (m: unknown): Uint8Array | undefined => {
    try {
      return s.encode(m as unknown[]);
    } catch {
      return undefined;
    }
  };
  const r = rng.chance(hostility) ? 20 + rng.int(80) : 0;
  const f =
    r < 20
      ? encode(valid())
      : r < 45
        ? encode(mutateValue(rng, base(), [1, 2, 3]))
        : r < 52
          ? withSplicedValue(rng, s, valid(), deepBytes(s.name, rng.pick([100, 1_000, 30_000]), rng.chance(0.5)))
          : r < 65
            ? withSplicedValue(rng, s, valid(), exoticBytes(rng, s.name))
            : undefined;
  return (
    f ??
    mutateBytes(
      rng,
      s.name,
      rng.chance(0.5) ? rng.pick(frames) : (encode(base()) ?? rng.pick(frames)),
      rng.pick(frames),
    )
  );
}

/** Checks one message from the router; a problem as text, or undefined. */
export function checkMessage(value: unknown): string | undefined {
  const parsed = parseMessage(value);
  if (parsed instanceof ProtocolViolation)
    return `malformed message from the router (${parsed.message}): ${show(value)}`;
  const code = (value as unknown[])[0] as number;
  return ROUTER_TO_CLIENT.has(code) ? undefined : `the router sent message type ${code}: ${show(value)}`;
}
