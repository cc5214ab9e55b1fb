import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ConfigError, defaultConfig, loadConfig, parseConfig } from '../../src/config/config.ts';
import { FULL_CONFIG } from './config-examples.ts';

test('the embedded default: realm1, anonymous, loopback WebSocket and RawSocket, ./data', (t) => {
  const c = defaultConfig();
  t.is(c.dataDir, './data');
  t.is(c.logLevel, 'warn');
  t.deepEqual(c.realms, [
    {
      uri: 'realm1',
      anonymous: true,
      anonymousFrom: 'loopback',
      uriCheck: 'loose',
      callerDisclosure: 'optional',
      publisherDisclosure: 'optional',
      history: [],
      limits: {
        maxPendingCallsPerSession: 1000,
        maxPendingCalls: 20_000,
        maxSubscriptionsPerSession: 10_000,
        maxRegistrationsPerSession: 10_000,
        maxRetainedTopicsPerSession: 1000,
        maxTestamentsPerSession: 64,
      },
      metaKill: 'admin',
    },
  ]);
  t.is(c.mesh.enabled, false, 'no mesh unless asked for');
  // The mesh's timings and limits default to src/mesh/defaults.ts, unchanged.
  t.like(c.mesh, {
    minLinks: 2,
    maxLinks: 4,
    heartbeatIntervalMs: 1000,
    deadAfterMs: 6000,
    handshakeTimeoutMs: 5000,
    maxFrameBytes: 16777216,
    maxQueuedBytes: undefined,
    lsaRefreshMs: 30_000,
    lsaMaxAgeMs: 120_000,
    dialBackoffMs: 1000,
    dialBackoffMaxMs: 60_000,
    mdnsTtlSec: 120,
    mdnsQueryIntervalMs: 30_000,
    antiEntropyMs: 60_000,
    unackedDeadMs: 3_000,
    linkUnackedBytes: 8 * 1024 * 1024,
    outageHoldEvents: 100_000,
    outageHoldBytes: 16 * 1024 * 1024,
    outageHoldMs: 120_000,
    holdbackMs: 10_000,
  });
  t.deepEqual(c.listeners, {
    websocket: [{ host: '127.0.0.1', port: 8080, path: '/ws' }],
    rawsocket: [{ host: '127.0.0.1', port: 8081 }],
    unix: [],
    http: [],
    mqtt: [],
  });
  t.deepEqual(c.limits, {
    maxMessageSize: 16777216,
    preAuthMaxMessageSize: 65536,
    preAuthBufferBytes: 16777216,
    preAuthWebSocketBytes: 16777216,
    preAuthConnectionsPerAddress: 4,
    handshakeTimeoutMs: 10000,
    outboundSoftLimitBytes: 1048576,
    outboundHardLimitBytes: 16777216,
    slowConsumerTimeoutMs: 10000,
    wsIdleTimeoutSec: 120,
  });
});

test('a full file parses as written', (t) => {
  const file = structuredClone(FULL_CONFIG);
  t.deepEqual(parseConfig(file, 'test'), file);
});

test('fields left out take their defaults; a listeners object lists exactly what is on', (t) => {
  const c = parseConfig({ listeners: { unix: [{ path: 's.sock' }] }, limits: { maxMessageSize: 1024 } }, 'test');
  t.deepEqual(parseConfig({ listeners: { mqtt: [{}] } }, 'test').listeners.mqtt, [
    {
      host: '127.0.0.1',
      port: 1883,
      realm: 'realm1',
      maxPacketBytes: 1048576,
      maxKeepAliveSec: 3600,
      maxInflight: 32,
      maxQueued: 1000,
      maxOutboundBytes: 4194304,
      maxSubscriptions: 256,
      maxSessionExpirySec: 604800,
      maxQueuedBytes: 16777216,
      maxPersistentSessions: 1000,
      maxConnections: 10000,
      maxUserProperties: 64,
      maxUserPropertyBytes: 16384,
    },
  ]);
  t.deepEqual(c.listeners, {
    websocket: [],
    rawsocket: [],
    unix: [{ path: 's.sock', mode: '0660' }],
    http: [],
    mqtt: [],
  });
  t.deepEqual(parseConfig({ listeners: { http: [{}] } }, 'test').listeners.http, [
    { host: '127.0.0.1', port: 8082, serve: ['metrics', 'health'] },
  ]);
  t.is(c.limits.maxMessageSize, 1024);
  t.is(c.limits.wsIdleTimeoutSec, 120);
  t.deepEqual(parseConfig({ listeners: { websocket: [{}] } }, 'test').listeners.websocket, [
    { host: '127.0.0.1', port: 8080, path: '/ws' },
  ]);
});

const bad: Array<[string, unknown, string, RegExp]> = [
  [
    'port out of range',
    { listeners: { websocket: [{ port: 70000 }] } },
    'listeners.websocket[0].port',
    /expected integer 0\.\.65535/,
  ],
  [
    'port as a string',
    { listeners: { rawsocket: [{}, { port: '8081' }] } },
    'listeners.rawsocket[1].port',
    /expected integer 0\.\.65535/,
  ],
  ['fractional port', { listeners: { rawsocket: [{ port: 80.5 }] } }, 'listeners.rawsocket[0].port', /integer/],
  [
    'bad host',
    { listeners: { websocket: [{ host: 'not a host' }] } },
    'listeners.websocket[0].host',
    /IP address or host name/,
  ],
  [
    'relative ws path',
    { listeners: { websocket: [{ path: 'ws' }] } },
    'listeners.websocket[0].path',
    /absolute URL path/,
  ],
  ['unix without path', { listeners: { unix: [{}] } }, 'listeners.unix[0].path', /required/],
  [
    'MQTT over WebSocket on the WAMP path',
    { listeners: { websocket: [{ path: '/ws', mqtt: { path: '/ws' } }] } },
    'listeners.websocket[0].mqtt.path',
    /differ from the WAMP path/,
  ],
  ['mqtt realm not a URI', { listeners: { mqtt: [{ realm: 'a b' }] } }, 'listeners.mqtt[0].realm', /realm URI/],
  [
    'mqtt packet limit too small',
    { listeners: { mqtt: [{ maxPacketBytes: 10 }] } },
    'listeners.mqtt[0].maxPacketBytes',
    /expected integer 64\.\./,
  ],
  ['bad unix mode', { listeners: { unix: [{ path: 'x', mode: '0999' }] } }, 'listeners.unix[0].mode', /octal/],
  ['unknown top-level field', { listners: {} }, 'listners', /unknown field/],
  ['unknown nested field', { limits: { maxMessageSise: 1 } }, 'limits.maxMessageSise', /unknown field/],
  ['unknown listener kind', { listeners: { https: [] } }, 'listeners.https', /unknown field/],
  [
    'unknown http service',
    { listeners: { http: [{ serve: ['metrics', 'admin'] }] } },
    'listeners.http[0].serve[1]',
    /"metrics", "health", "console", "gateway", "oauth2"/,
  ],
  ['http serving nothing', { listeners: { http: [{ serve: [] }] } }, 'listeners.http[0].serve', /at least one/],
  ['invalid realm URI', { realms: [{ uri: 'my realm', anonymous: true }] }, 'realms[0].uri', /WAMP URI/],
  ['empty URI component', { realms: [{ uri: 'com..app', anonymous: true }] }, 'realms[0].uri', /WAMP URI/],
  ['realm without anonymous', { realms: [{ uri: 'realm1' }] }, 'realms[0].anonymous', /true or false/],
  [
    'bad disclosure',
    { realms: [{ uri: 'a', anonymous: true, callerDisclosure: 'maybe' }] },
    'realms[0].callerDisclosure',
    /"optional", "always" or "never"/,
  ],
  [
    'history limit zero',
    { realms: [{ uri: 'a', anonymous: true, history: [{ topic: 'a.b', limit: 0 }] }] },
    'realms[0].history[0].limit',
    /expected integer/,
  ],
  [
    'history maxTopics zero',
    { realms: [{ uri: 'a', anonymous: true, history: [{ topic: 'a.', match: 'prefix', maxTopics: 0 }] }] },
    'realms[0].history[0].maxTopics',
    /expected integer 1\.\.1000000/,
  ],
  [
    'history maxTopics not an integer',
    { realms: [{ uri: 'a', anonymous: true, history: [{ topic: 'a.', match: 'prefix', maxTopics: 'many' }] }] },
    'realms[0].history[0].maxTopics',
    /expected integer/,
  ],
  ['mesh without secret', { mesh: { enabled: true } }, 'mesh.cluster.secret', /required when mesh.enabled/],
  [
    'mesh secret too short',
    { mesh: { enabled: true, cluster: { secret: 'short' } } },
    'mesh.cluster.secret',
    /at least 16/,
  ],
  ['mesh maxLinks below minLinks', { mesh: { minLinks: 3, maxLinks: 2 } }, 'mesh.maxLinks', /at least minLinks/],
  ['mesh seed without port', { mesh: { seeds: ['10.0.0.1'] } }, 'mesh.seeds[0]', /HOST:PORT/],
  ['mesh seed port over 65535', { mesh: { seeds: ['10.0.0.1:99999'] } }, 'mesh.seeds[0]', /PORT 1\.\.65535/],
  ['mesh seed port 0', { mesh: { seeds: ['10.0.0.1:8091', '[::1]:0'] } }, 'mesh.seeds[1]', /PORT 1\.\.65535/],
  ['mesh frame limit below 64 KiB', { mesh: { maxFrameBytes: 4096 } }, 'mesh.maxFrameBytes', /65536\.\.16777216/],
  [
    'mesh deadAfterMs under two heartbeats',
    { mesh: { heartbeatIntervalMs: 5000 } },
    'mesh.deadAfterMs',
    /twice heartbeatIntervalMs/,
  ],
  [
    'mesh queue below one frame',
    { mesh: { maxFrameBytes: 1 << 20, maxQueuedBytes: 1 << 19 } },
    'mesh.maxQueuedBytes',
    /at least maxFrameBytes/,
  ],
  [
    'mesh advertisements expiring before two refreshes',
    { mesh: { lsaRefreshMs: 60_000 } },
    'mesh.lsaMaxAgeMs',
    /twice lsaRefreshMs/,
  ],
  [
    'mesh backoff cap below the first delay',
    { mesh: { dialBackoffMs: 5000, dialBackoffMaxMs: 1000 } },
    'mesh.dialBackoffMaxMs',
    /at least dialBackoffMs/,
  ],
  ['mesh mDNS TTL out of range', { mesh: { mdnsTtlSec: 1 } }, 'mesh.mdnsTtlSec', /2\.\.4500/],
  ['mesh fractional timing', { mesh: { antiEntropyMs: 1500.5 } }, 'mesh.antiEntropyMs', /integer/],
  ['unknown mesh timing', { mesh: { heartbeatMs: 1000 } }, 'mesh.heartbeatMs', /unknown field/],
  [
    'unknown uriCheck',
    { realms: [{ uri: 'a', anonymous: true, uriCheck: 'lax' }] },
    'realms[0].uriCheck',
    /"loose" or "strict"/,
  ],
  [
    'a realm shadowing the admin realm',
    {
      realms: [
        { uri: 'realm1', anonymous: true },
        { uri: 'wampmesh.admin', anonymous: false },
      ],
    },
    'realms[1].uri',
    /admin realm.*admin commands/,
  ],
  [
    'pending calls limit zero',
    { realms: [{ uri: 'a', anonymous: true, limits: { maxPendingCallsPerSession: 0 } }] },
    'realms[0].limits.maxPendingCallsPerSession',
    /expected integer 1\.\.1000000/,
  ],
  [
    'unknown realm limit',
    { realms: [{ uri: 'a', anonymous: true, limits: { maxCalls: 5 } }] },
    'realms[0].limits.maxCalls',
    /unknown field/,
  ],
  [
    'bad metaKill',
    { realms: [{ uri: 'a', anonymous: true, metaKill: 'everyone' }] },
    'realms[0].metaKill',
    /"admin" or "all"/,
  ],
  [
    'duplicate realm',
    {
      realms: [
        { uri: 'a', anonymous: true },
        { uri: 'a', anonymous: false },
      ],
    },
    'realms[1].uri',
    /duplicate/,
  ],
  ['no realms', { realms: [] }, 'realms', /at least one realm/],
  ['bad log level', { logLevel: 'verbose' }, 'logLevel', /one of silent, error, warn, info, debug/],
  ['empty dataDir', { dataDir: '' }, 'dataDir', /directory/],
  [
    'message size over RawSocket max',
    { limits: { maxMessageSize: 16777217 } },
    'limits.maxMessageSize',
    /512\.\.16777216/,
  ],
  [
    'pre-login budget below one pre-login frame',
    { limits: { preAuthMaxMessageSize: 65536, preAuthBufferBytes: 1024 } },
    'limits.preAuthBufferBytes',
    /at least preAuthMaxMessageSize/,
  ],
  [
    "pre-login budget below a WebSocket listener's maxMessageSize (each reserves it until WELCOME)",
    { limits: { preAuthWebSocketBytes: 1048576 }, listeners: { websocket: [{ maxMessageSize: 2097152 }] } },
    'limits.preAuthWebSocketBytes',
    /at least the maxMessageSize of every WebSocket listener \(listeners\.websocket\[0\]: 2097152\)/,
  ],
  [
    'hard limit below soft',
    { limits: { outboundSoftLimitBytes: 4096, outboundHardLimitBytes: 2048 } },
    'limits.outboundHardLimitBytes',
    /outboundSoftLimitBytes/,
  ],
  [
    'idle timeout uWS rejects',
    { limits: { wsIdleTimeoutSec: 4 } },
    'limits.wsIdleTimeoutSec',
    /0 or an integer 8\.\.960/,
  ],
  ['not an object', [], '', /expected object/],
];

for (const [name, value, field, problem] of bad) {
  test(`rejects ${name}, naming ${field || 'the file'}`, (t) => {
    const err = t.throws(() => parseConfig(value, 'wampmesh.json'), { instanceOf: ConfigError });
    t.is(err.field, field);
    t.regex(err.message, problem);
    t.true(err.message.startsWith(field ? `wampmesh.json: ${field}: ` : 'wampmesh.json: '), err.message);
  });
}

test('every problem is reported, not just the first', (t) => {
  const err = t.throws(() => parseConfig({ logLevel: 1, dataDir: 2 }, 'f'), { instanceOf: ConfigError });
  t.deepEqual(err.issues.map((i) => i.field).sort(), ['dataDir', 'logLevel']);
});

function tempFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-config-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

test("loadConfig resolves dataDir and Unix socket paths against the file's directory", (t) => {
  const file = tempFile('c.json', JSON.stringify({ listeners: { unix: [{ path: 'run/w.sock' }] } }));
  const c = loadConfig(file);
  t.is(c.dataDir, path.join(path.dirname(file), 'data'));
  t.is(c.listeners.unix[0]?.path, path.join(path.dirname(file), 'run/w.sock'));
});

test("loadConfig resolves mesh TLS files against the file's directory; absolute paths stay", (t) => {
  const tls = { cert: 'tls/node.crt', key: './tls/node.key', ca: '/etc/wampmesh/ca.crt' };
  const file = tempFile('c.json', JSON.stringify({ mesh: { tls } }));
  const dir = path.dirname(file);
  t.deepEqual(loadConfig(file).mesh.tls, {
    cert: path.join(dir, 'tls/node.crt'),
    key: path.join(dir, 'tls/node.key'),
    ca: '/etc/wampmesh/ca.crt',
  });
  const noCa = tempFile('d.json', JSON.stringify({ mesh: { tls: { cert: 'a.crt', key: 'a.key' } } }));
  t.deepEqual(loadConfig(noCa).mesh.tls, {
    cert: path.join(path.dirname(noCa), 'a.crt'),
    key: path.join(path.dirname(noCa), 'a.key'),
  });
});

test("loadConfig resolves a listener's client CA and CRL files against the file's directory", (t) => {
  const tls = { cert: 'tls/c.crt', key: 'tls/c.key', clientCa: 'tls/ca.pem', clientCrl: '/etc/wampmesh/crl.pem' };
  const file = tempFile('c.json', JSON.stringify({ listeners: { mqtt: [{ tls }], rawsocket: [{ tls }] } }));
  const dir = path.dirname(file);
  const resolved = {
    cert: path.join(dir, 'tls/c.crt'),
    key: path.join(dir, 'tls/c.key'),
    clientCa: path.join(dir, 'tls/ca.pem'),
    clientCrl: '/etc/wampmesh/crl.pem',
  };
  const c = loadConfig(file);
  t.deepEqual(c.listeners.mqtt[0]?.tls, resolved);
  t.deepEqual(c.listeners.rawsocket[0]?.tls, resolved);
});

test("a history rule's maxTopics: 1000 when left out, taken as written, and a bad one in the file refused naming it", (t) => {
  const rule = { topic: 't17.', match: 'prefix', limit: 10 };
  const file = (maxTopics?: unknown) =>
    tempFile('h.json', JSON.stringify({ realms: [{ uri: 'a', anonymous: true, history: [{ ...rule, maxTopics }] }] }));
  t.is(loadConfig(file()).realms[0]?.history[0]?.maxTopics, 1000);
  t.is(loadConfig(file(20)).realms[0]?.history[0]?.maxTopics, 20);
  for (const bad of [0, -1, 1.5, 2_000_000, '10', null]) {
    const err = t.throws(() => loadConfig(file(bad)), { instanceOf: ConfigError }, String(bad));
    t.is(err.field, 'realms[0].history[0].maxTopics', String(bad));
    t.regex(err.message, /realms\[0\]\.history\[0\]\.maxTopics: expected integer 1\.\.1000000/);
  }
});

test('loadConfig without a path is the embedded default', (t) => {
  t.deepEqual(loadConfig(), defaultConfig());
});

test('loadConfig reports unreadable files and JSON syntax errors', (t) => {
  t.throws(() => loadConfig('/nonexistent/wampmesh.json'), { instanceOf: ConfigError, message: /cannot read/ });
  const file = tempFile('broken.json', '{ "dataDir": "x", }');
  t.throws(() => loadConfig(file), { instanceOf: ConfigError, message: /not valid JSON/ });
});
