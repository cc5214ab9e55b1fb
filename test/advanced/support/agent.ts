// Drives test/advanced/python/agent.py: Autobahn|Python sessions (a WAMP client this project
// did not write) that a test opens, makes call, register, subscribe and publish, and watches,
// interleaved with raw frames and router restarts. See agent.py for the line protocol.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { python } from '../../interop/support/python.ts';
import type { Endpoints } from './router.ts';

const agentScript = fileURLToPath(new URL('../python/agent.py', import.meta.url));

export type Dict = Record<string, unknown>;

/** Something the agent reported without being asked: an EVENT, INVOCATION, INTERRUPT, close. */
export interface AgentEvent extends Dict {
  event: string;
  session?: string;
}

/** A call's outcome as the Autobahn caller saw it; WAMP errors are values, not exceptions. */
export type CallOutcome =
  | { ok: true; args: unknown[]; kwargs: Dict; progress: Array<{ args: unknown[]; kwargs: Dict }> }
  | { ok: false; error: string; args: unknown[]; kwargs: Dict };

export class WampError extends Error {
  readonly error: string;
  readonly args: unknown[];
  constructor(error: string, args: unknown[]) {
    super(`WAMP error ${error} ${JSON.stringify(args)}`);
    this.name = 'WampError';
    this.error = error;
    this.args = args;
  }
}

interface Pending {
  resolve(v: Dict): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  what: string;
}

// JSON between the processes; byte strings as {"$bytes": base64}.
function toAgent(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return value.map(toAgent);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toAgent(v)]));
  return value;
}

function fromAgent(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromAgent);
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$bytes') return Buffer.from((value as { $bytes: string }).$bytes, 'base64');
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromAgent(v)]));
  }
  return value;
}

const live = new Set<ChildProcessWithoutNullStreams>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export class PyAgent {
  readonly events: AgentEvent[] = [];
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending = new Map<number, Pending>();
  readonly #waiters = new Set<{ pred: (e: AgentEvent) => boolean; resolve(e: AgentEvent): void }>();
  readonly #exited: Promise<void>;
  readonly #endpoints: Endpoints;
  #nextId = 1;
  #stderr = '';
  #gone = false;

  private constructor(endpoints: Endpoints) {
    this.#endpoints = endpoints;
    this.#child = spawn(
      python,
      [
        agentScript,
        '--ws-url',
        endpoints.wsUrl,
        '--rs-host',
        endpoints.rawsocketHost,
        '--rs-port',
        String(endpoints.rawsocketPort),
      ],
      {
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    live.add(this.#child);
    this.#child.stderr.setEncoding('utf8').on('data', (c: string) => {
      this.#stderr = (this.#stderr + c).slice(-100_000);
    });
    let buffer = '';
    this.#child.stdout.setEncoding('utf8').on('data', (c: string) => {
      buffer += c;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim() !== '') this.#line(line);
      }
    });
    this.#child.stdin.on('error', () => undefined);
    this.#exited = new Promise((resolve) => {
      this.#child.once('close', () => {
        this.#gone = true;
        live.delete(this.#child);
        for (const [, p] of this.#pending) {
          clearTimeout(p.timer);
          p.reject(new Error(`agent exited during ${p.what}; stderr: ${this.#stderr.slice(-3000)}`));
        }
        this.#pending.clear();
        resolve();
      });
    });
  }

  /** Starts an agent process for a router and waits until it reads commands. */
  static async start(endpoints: Endpoints): Promise<PyAgent> {
    const agent = new PyAgent(endpoints);
    await agent.waitEvent((e) => e.event === 'ready', 'agent ready', 20_000);
    return agent;
  }

  get endpoints(): Endpoints {
    return this.#endpoints;
  }
  get pid(): number {
    return this.#child.pid ?? -1;
  }
  stderr(): string {
    return this.#stderr;
  }

  #line(line: string): void {
    let msg: Dict;
    try {
      msg = fromAgent(JSON.parse(line)) as Dict;
    } catch {
      this.#stderr += `\n[unparsable agent line] ${line}`;
      return;
    }
    if (typeof msg.id === 'number') {
      const p = this.#pending.get(msg.id);
      if (p === undefined) return;
      this.#pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok === true) p.resolve((msg.result ?? {}) as Dict);
      else if (msg.wamp !== undefined) {
        const w = msg.wamp as { error: string; args: unknown[] };
        p.reject(new WampError(w.error, w.args));
      } else p.reject(new Error(`${p.what}: ${String(msg.exception)}; agent stderr: ${this.#stderr.slice(-2000)}`));
      return;
    }
    const event = msg as AgentEvent;
    this.events.push(event);
    for (const w of [...this.#waiters]) {
      if (w.pred(event)) {
        this.#waiters.delete(w);
        w.resolve(event);
      }
    }
  }

  /** One command; resolves with its result, rejects with WampError or the agent's exception. */
  request(op: string, params: Dict, timeoutMs = 15_000): Promise<Dict> {
    if (this.#gone) return Promise.reject(new Error(`agent is gone; cannot ${op}`));
    const id = this.#nextId++;
    const what = `${op} ${JSON.stringify(params).slice(0, 200)}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new Error(`${what}: no answer from the agent within ${timeoutMs} ms; stderr: ${this.#stderr.slice(-2000)}`),
        );
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, what });
      this.#child.stdin.write(`${JSON.stringify(toAgent({ id, op, ...params }))}\n`);
    });
  }

  /** The first reported event (past or future) matching `pred`. */
  waitEvent(pred: (e: AgentEvent) => boolean, what: string, timeoutMs = 10_000): Promise<AgentEvent> {
    const seen = this.events.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (e: AgentEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `${what}: not reported within ${timeoutMs} ms; recent events: ` +
              `${JSON.stringify(this.events.slice(-8)).slice(0, 1500)}; stderr: ${this.#stderr.slice(-1500)}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  eventsWhere(pred: (e: AgentEvent) => boolean): AgentEvent[] {
    return this.events.filter(pred);
  }

  async connect(
    name: string,
    options: { realm: string; transport?: 'ws' | 'rs'; serializer?: 'json' | 'msgpack' | 'cbor' },
  ): Promise<PySession> {
    const r = await this.request('connect', {
      session: name,
      transport: options.transport ?? 'ws',
      serializer: options.serializer ?? 'json',
      realm: options.realm,
    });
    return new PySession(this, name, r.session as number, r.authid as string, r.authrole as string);
  }

  /** Kills the Python process with SIGKILL: its TCP connections are cut without GOODBYE. */
  async kill(): Promise<void> {
    this.#child.kill('SIGKILL');
    await this.#exited;
  }

  /** Closes stdin (the agent leaves its sessions and exits); SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (this.#gone) return;
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** One Autobahn session inside an agent. */
export class PySession {
  readonly agent: PyAgent;
  readonly name: string;
  readonly id: number;
  readonly authid: string;
  readonly authrole: string;

  constructor(agent: PyAgent, name: string, id: number, authid: string, authrole: string) {
    this.agent = agent;
    this.name = name;
    this.id = id;
    this.authid = authid;
    this.authrole = authrole;
  }

  async register(procedure: string, behavior: Dict = { kind: 'echo' }, options: Dict = {}): Promise<number> {
    return (await this.agent.request('register', { session: this.name, procedure, behavior, options }))
      .registration as number;
  }

  async unregister(registration: number): Promise<void> {
    await this.agent.request('unregister', { session: this.name, registration });
  }

  /** CALL through Autobahn. options: timeout (ms), receive_progress (bool). */
  async call(
    procedure: string,
    args: unknown[] = [],
    kwargs: Dict = {},
    options: Dict = {},
    tag?: string,
  ): Promise<CallOutcome> {
    try {
      const r = await this.agent.request('call', {
        session: this.name,
        procedure,
        args,
        kwargs,
        options,
        ...(tag !== undefined && { tag }),
      });
      return {
        ok: true,
        args: r.args as unknown[],
        kwargs: r.kwargs as Dict,
        progress: r.progress as Array<{ args: unknown[]; kwargs: Dict }>,
      };
    } catch (e) {
      if (e instanceof WampError) return { ok: false, error: e.error, args: e.args, kwargs: {} };
      throw e;
    }
  }

  /** The first positional result of a call that must succeed. */
  async result(procedure: string, args: unknown[] = [], kwargs: Dict = {}): Promise<unknown> {
    const r = await this.call(procedure, args, kwargs);
    if (!r.ok) throw new WampError(r.error, r.args);
    return r.args[0];
  }

  async cancel(tag: string): Promise<void> {
    await this.agent.request('cancel', { tag });
  }

  async subscribe(topic: string, options: Dict = {}): Promise<number> {
    return (await this.agent.request('subscribe', { session: this.name, topic, options })).subscription as number;
  }

  async unsubscribe(subscription: number): Promise<void> {
    await this.agent.request('unsubscribe', { session: this.name, subscription });
  }

  /** PUBLISH; with options.acknowledge the publication ID, else undefined. */
  async publish(
    topic: string,
    args: unknown[] = [],
    kwargs: Dict = {},
    options: Dict = {},
  ): Promise<number | undefined> {
    const r = await this.agent.request('publish', { session: this.name, topic, args, kwargs, options });
    return r.publication as number | undefined;
  }

  async release(invocation: number, release: Dict = {}): Promise<void> {
    await this.agent.request('release', { invocation, ...release });
  }

  /** GOODBYE, and wait until the transport is closed. */
  async leave(): Promise<void> {
    await this.agent.request('leave', { session: this.name });
  }

  /** Events this session received on a subscription. */
  eventsOn(subscription: number): AgentEvent[] {
    return this.agent.eventsWhere(
      (e) => e.event === 'event' && e.session === this.name && e.subscription === subscription,
    );
  }

  waitEvent(pred: (e: AgentEvent) => boolean, what: string, timeoutMs?: number): Promise<AgentEvent> {
    return this.agent.waitEvent((e) => e.session === this.name && pred(e), `${this.name}: ${what}`, timeoutMs);
  }

  /** Resolves with the next INVOCATION this session's endpoints reported. */
  waitInvocation(pred: (e: AgentEvent) => boolean = () => true, what = 'invocation'): Promise<AgentEvent> {
    return this.waitEvent((e) => e.event === 'invocation' && pred(e), what);
  }
}
