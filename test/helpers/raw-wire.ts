// What the raw client's three transports have in common: the Wire each of them hands the client,
// and the socket plumbing (connect, corked writes) the node:net ones share.

import net from 'node:net';

export interface CloseInfo {
  /** WebSocket close code, when the server sent one. */
  code?: number;
  reason?: string;
  /** Socket error that ended the connection (ECONNRESET...). */
  error?: string;
}

/** Low-level wire: the one thing the three transports differ in. */
export interface Wire {
  sendMessage(payload: Uint8Array | string): void;
  /** Bytes onto the connection as they are (RawSocket), or as one message's payload (WebSocket). */
  sendRaw(bytes: Uint8Array, binary?: boolean): void;
  /** RawSocket: one message already framed (header included), corked until the end of the tick. */
  sendFramed(frame: Uint8Array): void;
  close(): void;
  destroy(): void;
  pause(): void;
  resume(): void;
  /** Bytes queued in our process, not yet handed to the kernel. */
  bufferedAmount(): number;
}

export interface WireEvents {
  message(payload: Uint8Array | string): void;
  closed(info: CloseInfo): void;
}

export function tcpConnect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** The parts of a Wire that are the socket's own, the same for RawSocket and the node:net WebSocket. */
export function socketControls(socket: net.Socket): Pick<Wire, 'destroy' | 'pause' | 'resume' | 'bufferedAmount'> {
  return {
    destroy() {
      socket.destroy();
    },
    pause() {
      socket.pause();
    },
    resume() {
      socket.resume();
    },
    bufferedAmount() {
      return socket.writableLength;
    },
  };
}

const corked = new WeakSet<net.Socket>();

/**
 * Bytes onto the socket, corked until the end of the tick: a burst of frames (pipelined calls)
 * leaves in one writev rather than a syscall or two per frame, which keeps the load generator cheap.
 */
export function writeCorked(socket: net.Socket, bytes: Uint8Array): void {
  if (!corked.has(socket)) {
    corked.add(socket);
    socket.cork();
    process.nextTick(() => {
      corked.delete(socket);
      socket.uncork();
    });
  }
  socket.write(bytes);
}
