// Bare TCP connections for handshake-level hostility: what the server sent, and when it hung up.

import type net from 'node:net';
import { tcpConnect } from './raw-wire.ts';

export interface TcpProbe {
  readonly socket: net.Socket;
  /** Everything the server sent so far. */
  received(): Buffer;
  /** Resolves when the connection is closed by either side. */
  readonly closed: Promise<void>;
  /**
   * Resolves when the server has ended its side (FIN), or the connection is gone: a client
   * still writing may see its own close only much later, when the server's linger ends.
   */
  readonly ended: Promise<void>;
}

/** A plain TCP connection that records what the server sends and when it hangs up. */
export async function openTcp(port: number, host = '127.0.0.1'): Promise<TcpProbe> {
  const socket = await tcpConnect(host, port);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined); // ECONNRESET on a server destroy is an expected ending
  return probeOf(socket, chunks);
}

/** The TcpProbe of a connected socket whose 'data' go into `chunks`. */
export function probeOf(socket: net.Socket, chunks: Buffer[]): TcpProbe {
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const ended = new Promise<void>((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
  return { socket, received: () => Buffer.concat(chunks), closed, ended };
}
