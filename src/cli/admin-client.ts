// How the admin CLI reaches the security API: over the running router's Unix socket (WAMP
// RawSocket, realm wampmesh.admin, authmethod trust), or, when no router runs on the data
// folder, through an in-process router on the same database. Both go through the same admin
// procedures, so the two paths cannot disagree.

import net from 'node:net';
import path from 'node:path';
import type { Peer, PeerHandler } from '../router/peer.ts';
import { allowAll, anonymousAuthenticator } from '../router/auth.ts';
import { Router } from '../router/router.ts';
import { attachSecurity, createSecurity } from '../security/index.ts';
import { json } from '../serializers/index.ts';
import { openDatabase } from '../store/database.ts';
import {
  buildHandshakeRequest,
  encodeFrame,
  FrameDecoder,
  FrameType,
  parseHandshake,
} from '../transport/rawsocket-framing.ts';
import { ADMIN_REALM } from '../security/admin.ts';
import { StartError } from './errors.ts';

export const ADMIN_SOCKET = 'wampmesh.sock';

export function adminSocketPath(dataDir: string): string {
  return path.resolve(dataDir, ADMIN_SOCKET);
}

/** A WAMP error returned by an admin procedure. */
export class AdminError extends Error {
  readonly uri: string;
  readonly field: string | undefined;
  constructor(uri: string, message: string, field?: string) {
    super(message);
    this.uri = uri;
    this.field = field;
  }
}

export interface AdminConnection {
  /** 'router' when talking to a running router, 'offline' when working on the data folder. */
  readonly mode: 'router' | 'offline';
  call(procedure: string, args?: unknown[], kwargs?: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}

/** Something that carries WAMP messages (as arrays) both ways. */
interface Channel {
  send(message: unknown[]): void;
  onMessage: (message: unknown[]) => void;
  onClose: (why: string) => void;
  close(): void;
}

const TIMEOUT_MS = 30_000;
// The router out of reach, gone or silent is an operator's problem, not a bug: StartError, so the
// CLI prints its message alone (a plain Error printed a stack, e.g. for a --data path too long
// for a Unix socket, or one the user may not enter).

/** `init`: create the database when the folder has none; otherwise such a folder is refused (a mistyped --data). */
export async function connectAdmin(dataDir: string, options: { init?: boolean } = {}): Promise<AdminConnection> {
  const socket = adminSocketPath(dataDir);
  const channel = await openSocketChannel(socket).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') return undefined;
    throw new StartError(`cannot reach the router on ${socket}: ${err.message}`);
  });
  if (channel !== undefined) return session(channel, 'router', () => {});
  // No router on this data folder: open it ourselves (this fails clearly if one is starting).
  const db = openDatabase(dataDir, { create: options.init === true });
  const security = createSecurity(db, { fallbackAuthenticator: anonymousAuthenticator, fallbackAuthorizer: allowAll });
  const router = new Router({
    realms: security.realmConfigs(),
    authenticator: security.authenticator,
    authorizer: security.authorizer,
  });
  attachSecurity(router, security);
  return session(memoryChannel(router), 'offline', () => db.close());
}

async function session(channel: Channel, mode: AdminConnection['mode'], onClose: () => void): Promise<AdminConnection> {
  let nextRequest = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let welcome: ((m: unknown[]) => void) | undefined;
  let closedWhy: string | undefined;
  channel.onMessage = (m) => {
    if (m[0] === 2 || m[0] === 3) return welcome?.(m);
    const request = (m[0] === 8 ? m[2] : m[1]) as number;
    const p = pending.get(request);
    if (p === undefined) return;
    pending.delete(request);
    if (m[0] === 50) p.resolve((m[3] as unknown[] | undefined)?.[0]);
    else {
      const detail = (m[5] as unknown[] | undefined)?.[1] as { field?: string } | undefined;
      p.reject(new AdminError(m[4] as string, String((m[5] as unknown[] | undefined)?.[0] ?? m[4]), detail?.field));
    }
  };
  channel.onClose = (why) => {
    closedWhy = why;
    for (const p of pending.values()) p.reject(new StartError(`connection to the router closed: ${why}`));
    pending.clear();
  };
  const joined = await new Promise<unknown[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StartError('the router did not answer HELLO')), TIMEOUT_MS);
    welcome = (m) => {
      clearTimeout(timer);
      resolve(m);
    };
    channel.send([1, ADMIN_REALM, { roles: { caller: {} }, authmethods: ['trust'], authid: 'admin' }]);
  });
  if (joined[0] === 3) {
    channel.close();
    throw new AdminError(
      joined[2] as string,
      `the router refused the admin session: ${(joined[1] as { message?: string }).message ?? joined[2]}`,
    );
  }
  return {
    mode,
    call(procedure, args = [], kwargs = {}) {
      if (closedWhy !== undefined)
        return Promise.reject(new StartError(`connection to the router closed: ${closedWhy}`));
      const request = nextRequest++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(request);
          reject(new StartError(`${procedure}: no answer within ${TIMEOUT_MS / 1000} s`));
        }, TIMEOUT_MS);
        pending.set(request, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        channel.send(
          Object.keys(kwargs).length > 0
            ? [48, request, {}, procedure, args, kwargs]
            : [48, request, {}, procedure, args],
        );
      });
    },
    async close() {
      channel.send([6, {}, 'wamp.close.close_realm']);
      channel.close();
      onClose();
    },
  };
}

function openSocketChannel(file: string): Promise<Channel> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(file);
    const decoder = new FrameDecoder(1 << 24);
    let handshaken = false;
    let buffered = Buffer.alloc(0);
    const channel: Channel = {
      send: (m) => sock.write(encodeFrame(FrameType.MESSAGE, json.encode(m))),
      onMessage: () => {},
      onClose: () => {},
      close: () => sock.end(),
    };
    sock.once('connect', () => sock.write(buildHandshakeRequest(json.rawsocketId, 15)));
    sock.once('error', (err) => (handshaken ? channel.onClose(err.message) : reject(err)));
    sock.on('close', () => channel.onClose('socket closed'));
    sock.on('data', (chunk: Buffer) => {
      if (!handshaken) {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < 4) return;
        const reply = parseHandshake(buffered.subarray(0, 4));
        if (!reply.ok)
          return reject(new StartError(`the router refused the RawSocket handshake (${JSON.stringify(reply)})`));
        handshaken = true;
        resolve(channel);
        chunk = buffered.subarray(4);
        if (chunk.length === 0) return;
      }
      for (const event of decoder.feed(chunk)) {
        if (event.type === 'message') channel.onMessage(json.decode(event.payload) as unknown[]);
        else if (event.type === 'error') {
          channel.onClose(event.error.message);
          sock.destroy();
        }
      }
    });
  });
}

function memoryChannel(router: Router): Channel {
  let handler: PeerHandler;
  const channel: Channel = {
    send: (m) => handler.receive(json.encode(m)),
    onMessage: () => {},
    onClose: () => {},
    close: () => handler.closed(),
  };
  const peer: Peer = {
    serializer: json,
    info: { type: 'unix', peer: 'unix:offline', local: true },
    send: (frame) => channel.onMessage(json.decode(frame) as unknown[]),
    bufferedAmount: () => 0,
    close: () => channel.onClose('closed'),
  };
  handler = router.attach(peer);
  return channel;
}
