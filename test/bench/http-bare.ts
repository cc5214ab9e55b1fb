// The HTTP baseline of the benchmark (http.ts starts it as a child process): a bare
// uWebSockets.js handler that reads a POST body and answers the JSON the gateway would answer
// for the same request, with no WAMP at all. Its requests/s is the ceiling for the gateway's
// row on this runtime, kernel and load generator.
//
// Prints {"httpBare": <port>} once listening; exits when its stdin closes.

import uWS from '@btc-vision/uwebsockets.js';

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));

const app = uWS.App();
app.post('/*', (res) => {
  const chunks: Buffer[] = [];
  res.onAborted(() => undefined);
  res.onData((chunk, last) => {
    chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (!last) return;
    // The same work on the body as the gateway's answer: parse it, write it back.
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.cork(() => {
      res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(JSON.stringify(value));
    });
  });
});
app.listen('127.0.0.1', 0, (socket) => {
  if (!socket) process.exit(1);
  process.stdout.write(`${JSON.stringify({ httpBare: uWS.us_socket_local_port(socket as uWS.us_socket) })}\n`);
});
