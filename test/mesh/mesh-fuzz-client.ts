// The harness of the mesh fuzz: a router's client in A's or B's realm (a Peer in memory) that
// checks everything the router sends it, and acts only as a well-behaved client would.

import type { CloseReason, Peer, PeerHandler } from '../../src/router/peer.ts';
import type { Serializer } from '../../src/serializers/index.ts';
import { parseMessage, ProtocolViolation } from '../../src/wamp/parse.ts';
import { ROUTER_TO_CLIENT, show } from '../helpers/fuzz-checks.ts';

/** Where a client reports what it should not have been sent (checked once the router returns). */
export interface Notes {
  note(what: string): void;
}

/** A router's client in A's realm1, checking everything the router sends it. */
export class LocalClient implements Peer {
  readonly info = { type: 'memory', peer: '127.0.0.1:1', local: true };
  readonly serializer: Serializer;
  readonly name: string;
  handler!: PeerHandler;
  sessionId = 0;
  /** Decoded messages not yet acted on. */
  inbox: unknown[][] = [];
  /** Invocations received and not answered yet. */
  readonly open = new Set<number>();
  readonly #fuzz: Notes;

  constructor(fuzz: Notes, serializer: Serializer, name: string) {
    this.#fuzz = fuzz;
    this.serializer = serializer;
    this.name = name;
  }

  send(frame: Uint8Array): void {
    let value: unknown;
    try {
      value = this.serializer.decode(frame);
    } catch (error) {
      return this.#fuzz.note(`${this.name} got a frame it cannot decode (${String(error)})`);
    }
    const problem = checkToClient(value);
    if (problem !== undefined) return this.#fuzz.note(`${this.name} got ${problem}: ${show(value)}`);
    if (process.env.MESH_FUZZ_TRACE) console.log(`${this.name} << ${show(value, 400)}`);
    const m = value as unknown[];
    // An INTERRUPT is for an invocation the callee has and has not answered when it arrives.
    if (m[0] === 68) this.open.add(m[1] as number);
    // (After one in mode 'kill' the invocation is still the callee's to answer, and may be interrupted again.)
    if (m[0] === 69 && !this.open.has(m[1] as number))
      this.#fuzz.note(`${this.name} got INTERRUPT for request ${String(m[1])}, which it is not serving`);
    this.inbox.push(m);
  }

  bufferedAmount(): number {
    return 0;
  }

  close(reason?: CloseReason): void {
    this.#fuzz.note(
      `${this.name} was closed by the router (${reason ?? 'normal'}); last got ${show(this.inbox.slice(-3))}`,
    );
  }

  /**
   * A frame as it is: values our encoders never write, as a CBOR client can send them. Not one
   * the core refuses (this client is well-behaved): false then, and nothing was sent.
   */
  outRaw(frame: Uint8Array): boolean {
    try {
      if (parseMessage(this.serializer.decode(frame)) instanceof ProtocolViolation) return false;
    } catch {
      return false;
    }
    if (process.env.MESH_FUZZ_TRACE)
      console.log(`${this.name} >> (raw) ${Buffer.from(frame).toString('hex').slice(0, 200)}`);
    try {
      this.handler.receive(frame);
    } catch (error) {
      this.#fuzz.note(`${this.name}: receive() threw: ${(error as Error).stack ?? String(error)}`);
    }
    return true;
  }

  out(message: unknown[]): void {
    if (process.env.MESH_FUZZ_TRACE) console.log(`${this.name} >> ${show(message, 400)}`);
    if ((message[0] === 70 && (message[2] as Record<string, unknown>).progress !== true) || message[0] === 8)
      this.open.delete(message[message[0] === 8 ? 2 : 1] as number);
    try {
      this.handler.receive(this.serializer.encode(message));
    } catch (error) {
      this.#fuzz.note(`${this.name}: receive() threw: ${(error as Error).stack ?? String(error)}`);
    }
  }
}

const optType = (d: Record<string, unknown>, key: string, ok: (v: unknown) => boolean): string | undefined =>
  d[key] === undefined || ok(d[key]) ? undefined : `details.${key} = ${show(d[key], 60)}`;

/** A message a router may send a client, with well-known details of the right types. */
function checkToClient(value: unknown): string | undefined {
  const parsed = parseMessage(value);
  if (parsed instanceof ProtocolViolation) return `a malformed message (${parsed.message})`;
  const m = value as unknown[];
  const code = m[0] as number;
  if (!ROUTER_TO_CLIENT.has(code)) return `message type ${code}, which a router does not send`;
  if (code === 3 || code === 6) return 'ABORT or GOODBYE (a well-behaved client)';
  const bool = (v: unknown) => typeof v === 'boolean';
  const str = (v: unknown) => typeof v === 'string';
  if (code === 68) {
    // INVOCATION
    const d = m[3] as Record<string, unknown>;
    return (
      optType(d, 'receive_progress', bool) ??
      optType(d, 'progress', bool) ??
      optType(d, 'procedure', str) ??
      optType(d, 'timeout', (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)
    );
  }
  if (code === 50) return optType(m[2] as Record<string, unknown>, 'progress', bool); // RESULT
  if (code === 36) {
    // EVENT
    const d = m[3] as Record<string, unknown>;
    return optType(d, 'topic', str) ?? optType(d, 'retained', bool);
  }
  return undefined;
}
