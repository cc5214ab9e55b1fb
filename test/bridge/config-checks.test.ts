// A bridge's url, TLS settings and files are checked at start, each problem naming its field
// (`bridges[i]...`), and the router does not start (exit 1, nothing opened). Before, a bad URL
// started the router and failed at the first connection (or connected elsewhere: "mqtt://h:abc"
// reached port 1883), TLS settings on a plaintext url were ignored, and an empty secret file
// signed webhooks with an empty key.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { runCli, startServe } from '../cli/run-cli.ts';
import { selfSigned } from '../helpers/self-signed.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-bridge-checks-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

const out = [{ direction: 'out', wamp: 'a.b' }];
const mqtt = (extra: object) => ({ name: 'm', type: 'mqtt', realm: 'realm1', rules: out, ...extra });
const webhook = (extra: object) => ({
  name: 'w',
  type: 'webhook',
  realm: 'realm1',
  rules: [{ wamp: 'a.b' }],
  ...extra,
});
const wamp = (extra: object) => ({ name: 'u', type: 'wamp', realm: 'realm1', rules: out, ...extra });

let n = 0;
/** Runs serve on a config with these bridges; its data folder must not be made. */
async function serve(bridges: object[]): Promise<{ code: number | null; stderr: string; file: string }> {
  const file = path.join(dir, `config-${++n}.json`);
  const data = path.join(dir, `data-${n}`);
  fs.writeFileSync(file, JSON.stringify({ dataDir: data, listeners: { websocket: [{ port: 0 }] }, bridges }));
  const r = await runCli(['serve', '--config', file]);
  if (fs.existsSync(data)) throw new Error(`${file}: the data folder was made before the bridges were checked`);
  return { code: r.code, stderr: r.stderr, file };
}

test('bad bridge URLs are refused at start, each naming bridges[i].url and what is wrong', async (t) => {
  const r = await serve([
    webhook({ name: 'b', url: 'http://[zz' }),
    mqtt({ name: 'c', url: 'mqtt://127.0.0.1:abc' }),
    wamp({ name: 'd', url: 'rs://127.0.0.1:99999' }),
    webhook({ name: 'e', url: 'http://127.0.0.1:99999/x' }),
    mqtt({ name: 'f', url: 'mqtt://127.0.0.1:99999' }),
    mqtt({ name: 'g', url: 'mqtt://127.0.0.1:0' }),
    wamp({ name: 'h', url: 'rs://127.0.0.1' }),
    wamp({ name: 'i', url: 'rs://127.0.0.1:8081/ws' }),
    webhook({ name: 'j', url: 'https://user:secret@example.com/hook' }),
    mqtt({ name: 'k', url: 'mqtt://bad host:1883' }),
    mqtt({ name: 'l', url: 'http://127.0.0.1:1883' }),
  ]);
  t.is(r.code, 1);
  t.is(
    r.stderr,
    [
      `wampmesh: ${r.file}: bridges[0].url: "[zz" is not an IPv6 address in brackets`,
      `${r.file}: bridges[1].url: port "abc" is not an integer 1..65535`,
      `${r.file}: bridges[2].url: port "99999" is not an integer 1..65535`,
      `${r.file}: bridges[3].url: port "99999" is not an integer 1..65535`,
      `${r.file}: bridges[4].url: port "99999" is not an integer 1..65535`,
      `${r.file}: bridges[5].url: port "0" is not an integer 1..65535`,
      `${r.file}: bridges[6].url: expected a port: rs://HOST:PORT`,
      `${r.file}: bridges[7].url: expected nothing after the port: rs://HOST:PORT`,
      `${r.file}: bridges[8].url: expected no user name or password in the URL (it is shown in status and logs)`,
      `${r.file}: bridges[9].url: expected mqtt://HOST:PORT, mqtts://HOST:PORT, ws://HOST:PORT/PATH or wss://HOST:PORT/PATH; a URL has no spaces`,
      `${r.file}: bridges[10].url: expected mqtt://HOST:PORT, mqtts://HOST:PORT, ws://HOST:PORT/PATH or wss://HOST:PORT/PATH`,
      '',
    ].join('\n'),
  );
});

test('good bridge URLs still pass: default ports, IPv6, names with "_", paths and queries', async (t) => {
  const { loadConfig } = await import('../../src/config/config.ts');
  const file = path.join(dir, 'good.json');
  const urls: Array<[string, string]> = [
    ['mqtt', 'mqtt://broker_1.local'],
    ['mqtt', 'mqtts://[::1]:8883'],
    ['mqtt', 'wss://broker.example.com/mqtt?x=1'],
    ['webhook', 'https://erp.example.com:8443/hook?site=7'],
    ['webhook', 'http://127.0.0.1/'],
    ['wamp', 'rss://hq.example.com:443/'],
    ['wamp', 'ws://[::1]:8080/ws'],
  ];
  const bridges = urls.map(([type, url], i) =>
    (type === 'mqtt' ? mqtt : type === 'webhook' ? webhook : wamp)({ name: `b${i}`, url }),
  );
  fs.writeFileSync(file, JSON.stringify({ bridges }));
  t.deepEqual(
    loadConfig(file).bridges.map((b) => b.url),
    urls.map(([, url]) => url),
  );
});

test('bridge TLS: only on an encrypted url, cert with key, files checked, each naming its field', async (t) => {
  const a = selfSigned(dir, 'a');
  const b = selfSigned(dir, 'b');
  const junk = path.join(dir, 'junk.pem');
  fs.writeFileSync(junk, 'not a certificate\n');
  const cases: Array<[object, RegExp]> = [
    // Was accepted, and the bridge connected in plaintext.
    [
      mqtt({ url: 'mqtt://127.0.0.1:1883', tls: { ca: a.cert } }),
      /: bridges\[0\]\.tls: applies to mqtts:\/\/ and wss:\/\/ only, and the url is not encrypted/,
    ],
    [mqtt({ url: 'ws://127.0.0.1:1883/mqtt', tls: { ca: a.cert } }), /: bridges\[0\]\.tls: applies to mqtts/],
    // Was "wampmesh: bridges: error:05800074:x509 certificate routines::key values mismatch".
    [
      mqtt({ url: 'mqtts://127.0.0.1:8883', tls: { cert: a.cert, key: b.key } }),
      new RegExp(`^wampmesh: bridges\\[0\\]\\.tls\\.key: ${b.key} is not the key of the certificate in ${a.cert}\\n$`),
    ],
    [
      mqtt({ url: 'wss://127.0.0.1:8883/mqtt', tls: { cert: a.cert, key: b.key } }),
      /^wampmesh: bridges\[0\]\.tls\.key: .* is not the key of the certificate/,
    ],
    // Were accepted.
    [
      mqtt({ url: 'mqtts://127.0.0.1:8883', tls: { ca: junk } }),
      new RegExp(`^wampmesh: bridges\\[0\\]\\.tls\\.ca: ${junk} holds no PEM certificate\\n$`),
    ],
    [
      mqtt({ url: 'mqtts://127.0.0.1:8883', tls: { cert: a.cert } }),
      /: bridges\[0\]\.tls\.key: required with tls\.cert/,
    ],
    [mqtt({ url: 'mqtts://127.0.0.1:8883', tls: { key: a.key } }), /: bridges\[0\]\.tls\.cert: required with tls\.key/],
    [
      mqtt({ url: 'mqtts://127.0.0.1:8883', tls: { ca: path.join(dir, 'missing.pem') } }),
      /^wampmesh: bridges\[0\]\.tls\.ca: cannot read .*missing\.pem: ENOENT\n$/,
    ],
  ];
  for (const [bridge, expected] of cases) {
    const r = await serve([bridge]);
    t.is(r.code, 1, JSON.stringify(bridge));
    t.regex(r.stderr, expected, JSON.stringify(bridge));
  }
  // The good pair and CA pass the check: the router starts (the broker is not there; no matter).
  const started = await startServe(['--config', goodTlsConfig(a)]);
  started.child.kill('SIGTERM');
  t.is((await started.exited).code, 0);
});

function goodTlsConfig(a: { cert: string; key: string }): string {
  const file = path.join(dir, 'tls-good.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      dataDir: path.join(dir, 'tls-good-data'),
      listeners: { websocket: [{ port: 0 }] },
      bridges: [mqtt({ url: 'mqtts://127.0.0.1:1', tls: { ca: a.cert, cert: a.cert, key: a.key } })],
    }),
  );
  return file;
}

test('an empty or whitespace-only secret file (or a cryptosign key not 64 hex digits) is refused at start naming the field', async (t) => {
  const empty = path.join(dir, 'empty.secret');
  const blank = path.join(dir, 'blank.secret');
  const good = path.join(dir, 'good.secret');
  fs.writeFileSync(empty, '');
  fs.writeFileSync(blank, ' \n\t\n');
  fs.writeFileSync(good, 's3cret\n');
  const cases: Array<[object, string]> = [
    // Signed every webhook with an empty HMAC key.
    [webhook({ url: 'https://example.com/h', hmacSecretFile: empty }), 'hmacSecretFile'],
    [mqtt({ url: 'mqtt://127.0.0.1:1883', username: 'u', passwordFile: blank }), 'passwordFile'],
    [mqtt({ url: 'mqtt://127.0.0.1:1883', as: { authid: 'b', ticketFile: blank } }), 'as.ticketFile'],
    [wamp({ url: 'ws://127.0.0.1:1/ws', remote: { authid: 'e', ticketFile: empty } }), 'remote.ticketFile'],
    [
      wamp({ url: 'ws://127.0.0.1:1/ws', remote: { authid: 'e', wampcraSecretFile: blank } }),
      'remote.wampcraSecretFile',
    ],
  ];
  for (const [bridge, field] of cases) {
    const r = await serve([webhook({ name: 'first', url: 'http://127.0.0.1:1/', hmacSecretFile: good }), bridge]);
    t.is(r.code, 1, field);
    t.regex(
      r.stderr,
      new RegExp(
        `^wampmesh: bridges\\[1\\]\\.${field.replace('.', '\\.')}: .* is empty \\(or only whitespace\\): expected the secret\\n$`,
      ),
      field,
    );
  }
  const seed = path.join(dir, 'seed.key');
  fs.writeFileSync(seed, 'not hex\n');
  const r = await serve([wamp({ url: 'ws://127.0.0.1:1/ws', remote: { authid: 'e', cryptosignKeyFile: seed } })]);
  t.is(r.code, 1);
  t.is(r.stderr, `wampmesh: bridges[0].remote.cryptosignKeyFile: ${seed}: expected 64 hex digits (an Ed25519 seed)\n`);
});
