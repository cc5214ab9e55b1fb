// Config files the config tests share: every field set, each to a value other than its default.

export const FULL_CONFIG = {
  dataDir: '/var/lib/wampmesh',
  logLevel: 'debug',
  realms: [{ uri: 'com.example.app', anonymous: false, anonymousFrom: 'anywhere', uriCheck: 'strict', callerDisclosure: 'always', publisherDisclosure: 'never', history: [{ topic: 'com.example.', match: 'prefix', limit: 10, maxAgeSec: 60 }],
    limits: { maxPendingCallsPerSession: 10, maxPendingCalls: 100, maxSubscriptionsPerSession: 20, maxRegistrationsPerSession: 30, maxRetainedTopicsPerSession: 0 }, metaKill: 'all' }],
  listeners: {
    websocket: [{ host: '::1', port: 0, path: '/wamp' }],
    rawsocket: [{ host: 'localhost', port: 9000 }],
    unix: [{ path: '/run/wampmesh.sock', mode: '0600' }],
    http: [{ host: '127.0.0.1', port: 8080, serve: ['metrics', 'health'] }, { host: '0.0.0.0', port: 9464, serve: ['health'] }],
    mqtt: [{ host: '0.0.0.0', port: 1883, realm: 'com.example', maxPacketBytes: 65536, maxKeepAliveSec: 600, maxInflight: 16, maxQueued: 500, maxSubscriptions: 64, maxSessionExpirySec: 86400, maxQueuedBytes: 1048576, maxPersistentSessions: 100, maxConnections: 500 }],
  },
  limits: { maxMessageSize: 65536, preAuthMaxMessageSize: 4096, preAuthBufferBytes: 1048576, handshakeTimeoutMs: 5000, outboundSoftLimitBytes: 2048,
    outboundHardLimitBytes: 4096, slowConsumerTimeoutMs: 1000, wsIdleTimeoutSec: 0 },
  mesh: {
    enabled: true, nodeId: 'pi-kitchen', cluster: { name: 'home', secret: 'a-long-shared-secret' },
    listen: { host: '0.0.0.0', port: 9000 }, seeds: ['10.1.2.3:9000', '[fd00::1]:9000'], mdns: false, interfaces: ['eth0'],
    minLinks: 1, maxLinks: 3, heartbeatIntervalMs: 2000, deadAfterMs: 10_000, handshakeTimeoutMs: 8000,
    maxFrameBytes: 1 << 20, maxQueuedBytes: 4 << 20, lsaRefreshMs: 10_000, lsaMaxAgeMs: 45_000, dialBackoffMs: 500,
    dialBackoffMaxMs: 20_000, mdnsTtlSec: 60, mdnsQueryIntervalMs: 15_000, antiEntropyMs: 30_000,
  },
};
