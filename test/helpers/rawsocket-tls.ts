// A WAMP RawSocket client inside node:tls for the TLS listener tests: the RawSocket handshake
// (JSON, 2^24), one HELLO, and the router's first answer (WELCOME or ABORT).

import tls from 'node:tls';

/** Connects with `options` (ca, and a client certificate where the test has one) and sends `hello`. */
export function rawsocketHelloOverTls(
  port: number,
  options: tls.ConnectionOptions,
  hello: unknown[],
): Promise<{ answer: unknown[]; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options });
    let buffered = Buffer.alloc(0);
    socket.once('secureConnect', () => {
      socket.write(Uint8Array.of(0x7f, 0xf1, 0, 0));
      const frame = Buffer.from(JSON.stringify(hello));
      const header = Buffer.alloc(4);
      header.writeUInt32BE(frame.length);
      socket.write(Buffer.concat([header, frame]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 8) return;
      const length = buffered.readUInt32BE(4) & 0xffffff;
      if (buffered.length < 8 + length) return;
      socket.removeAllListeners('data');
      resolve({ answer: JSON.parse(buffered.subarray(8, 8 + length).toString()) as unknown[], socket });
    });
    socket.once('error', reject);
  });
}
