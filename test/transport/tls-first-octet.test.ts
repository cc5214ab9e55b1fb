// TLS client listeners (RawSocket, MQTT) read a connection's first octet before TLS does: a
// plain client of the listener's protocol is refused at once instead of being held to the
// handshake timeout, and real TLS clients (node:tls) still get through, with their ClientHello
// in one piece or one octet at a time. Real sockets, an in-process router.

import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import mqtt from 'mqtt';
import { generate } from 'mqtt-packet';
import { createLogger } from '../../src/log.ts';
import { listenMqtt } from '../../src/mqtt/listener.ts';
import { Router } from '../../src/router/router.ts';
import { listenRawSocket, type RawSocketOptions } from '../../src/transport/rawsocket-server.ts';
import { loadTls } from '../../src/transport/tls-files.ts';
import { openTcp, within } from '../helpers/raw-client.ts';
import { selfSigned } from '../helpers/self-signed.ts';

const dir = mkdtempSync(join(tmpdir(), 'wampmesh-tls-first-octet-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const cert = selfSigned(dir, 'router');
const loaded = loadTls({ cert: cert.cert, key: cert.key });
const ca = readFileSync(cert.cert);

interface Fixture {
  readonly port: number;
  /** Debug lines the listener logged, as parsed JSON. */
  readonly lines: { msg: string; err?: string }[];
}

function logger(lines: Fixture['lines']) {
  return createLogger({ level: 'debug', destination: { write: (line) => lines.push(JSON.parse(line)) } });
}

async function rawsocketOverTls(
  t: { teardown(fn: () => Promise<void>): void },
  options: RawSocketOptions = {},
): Promise<Fixture> {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const lines: Fixture['lines'] = [];
  const listener = await listenRawSocket({ host: '127.0.0.1', port: 0 }, router, {
    tls: loaded,
    logger: logger(lines),
    ...options,
  });
  t.teardown(() => listener.close());
  return { port: listener.port!, lines };
}

async function mqttOverTls(t: { teardown(fn: () => Promise<void>): void }): Promise<Fixture> {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const lines: Fixture['lines'] = [];
  const listener = await listenMqtt({ host: '127.0.0.1', port: 0 }, router, {
    realm: 'realm1',
    tls: loaded,
    logger: logger(lines),
  });
  t.teardown(() => listener.close());
  return { port: listener.port, lines };
}

/**
 * A stream between node:tls and `socket` that hands the first write (the ClientHello) to the
 * socket one octet at a time, each in its own TCP segment (noDelay) a millisecond apart.
 */
function trickling(socket: net.Socket): Duplex {
  let first = true;
  const duplex = new Duplex({
    write(chunk: Buffer, _encoding, done) {
      if (!first) return void socket.write(chunk, done);
      first = false;
      void (async () => {
        for (const octet of chunk) {
          socket.write(Uint8Array.of(octet));
          await new Promise((r) => setTimeout(r, 1));
        }
        done();
      })();
    },
    read() {
      socket.resume();
    },
    final(done) {
      socket.end(done);
    },
  });
  socket.setNoDelay(true);
  socket.on('data', (d: Buffer) => {
    if (!duplex.push(d)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  return duplex;
}

/** RawSocket handshake (JSON) and HELLO over a verified TLS connection; resolves with the WELCOME. */
function welcomeOverTls(port: number, over?: Duplex): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      over === undefined ? { host: '127.0.0.1', port, ca } : { socket: over, ca, servername: 'localhost' },
    );
    let buffered = Buffer.alloc(0);
    socket.once('secureConnect', () => {
      const hello = Buffer.from(JSON.stringify([1, 'realm1', { roles: { publisher: {} } }]));
      const header = Buffer.alloc(4);
      header.writeUInt32BE(hello.length);
      socket.write(Buffer.concat([Buffer.of(0x7f, 0xf1, 0, 0), header, hello]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 8) return;
      const length = buffered.readUInt32BE(4) & 0xffffff;
      if (buffered.length < 8 + length) return;
      socket.destroy();
      resolve(JSON.parse(buffered.subarray(8, 8 + length).toString()) as unknown[]);
    });
    socket.once('error', reject);
  });
}

test('a plain RawSocket handshake on a TLS port gets handshake error 3 and is closed at once', async (t) => {
  // The default handshake timeout (10 s): being closed within 1 s is not the timeout.
  const { port, lines } = await rawsocketOverTls(t);
  const plain = await openTcp(port);
  plain.socket.write(Uint8Array.of(0x7f, 0xf1, 0, 0));
  await within(plain.ended, 1000, 'the router ends the connection');
  t.deepEqual([...plain.received()], [0x7f, 0x30, 0, 0]);
  t.like(lines.at(-1), { msg: 'TLS handshake failed', err: 'plain WAMP RawSocket on a TLS port' });

  const http = await openTcp(port);
  http.socket.write('GET / HTTP/1.1\r\n\r\n');
  await within(http.closed, 1000, 'the router closes the connection');
  t.is(http.received().length, 0, 'nothing answered to a stranger');
  t.like(lines.at(-1), { msg: 'TLS handshake failed', err: 'not TLS (first octet 0x47)' });
});

test('an MQTT CONNECT in plain TCP on an MQTT TLS port is closed at once, unanswered', async (t) => {
  const { port, lines } = await mqttOverTls(t);
  const plain = await openTcp(port);
  plain.socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'c1', clean: true }));
  await within(plain.closed, 1000, 'the router closes the connection');
  t.is(plain.received().length, 0);
  t.like(lines.at(-1), { msg: 'TLS handshake failed', err: 'plain MQTT on a TLS port' });
});

test('TLS clients get through: WAMP over RawSocket with the ClientHello whole or one octet at a time, MQTT', async (t) => {
  const { port } = await rawsocketOverTls(t);
  t.is((await welcomeOverTls(port))[0], 2, 'ClientHello in the chunk of the first octet');
  const raw = net.connect({ host: '127.0.0.1', port });
  await new Promise((resolve) => raw.once('connect', resolve));
  t.is((await welcomeOverTls(port, trickling(raw)))[0], 2, 'ClientHello one octet at a time');

  const mq = await mqttOverTls(t);
  const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${mq.port}`, { ca, reconnectPeriod: 0 });
  t.true(client.connected);
  await client.endAsync();
});

test('a silent connection is closed at handshakeTimeoutMs; so is a TLS handshake stalled after its first octet', async (t) => {
  const { port, lines } = await rawsocketOverTls(t, { handshakeTimeoutMs: 300 });
  for (const first of [[], [0x16]]) {
    const started = Date.now();
    const probe = await openTcp(port);
    probe.socket.write(Uint8Array.from(first));
    await within(probe.closed, 3000, 'the router closes the connection');
    const took = Date.now() - started;
    t.true(took >= 250 && took < 2000, `closed after ${took} ms`);
    t.like(lines.at(-1), { msg: 'TLS handshake failed', err: 'TLS handshake timeout' });
  }
});
