// Mesh links over mutual TLS: members carry calls, and plain-TCP nodes and certificates outside
// the CA are refused with log lines at both ends.

import test from 'ava';
import {
  call,
  client,
  HOST,
  linkNode,
  linkPeers,
  logged,
  register,
  routerNode,
  serve,
  until,
} from './links-harness.ts';

// Self-signed, EC P-256, valid until 2126. Used as each node's certificate and as the CA.
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBkjCCATegAwIBAgIUTNzu1m4BUW/rNFqJuNWlnuHnz3MwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSd2FtcG1lc2gtdGVzdC1ub2RlMCAXDTI2MTEyMjE0Mzk0OFoY
DzIxMjYxMDI5MTQzOTQ4WjAdMRswGQYDVQQDDBJ3YW1wbWVzaC10ZXN0LW5vZGUw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQVI+BfRUleFHrPi+rr/ASyY8DDoBMO
hqLuJoMSLOcrvybZLp97zdKa+uJPH6j7pc5cXJ/7lJL2HEG+zb9P8HH4o1MwUTAd
BgNVHQ4EFgQUHIgIuFE4i0JDvQHH/RwI/c2Bg4cwHwYDVR0jBBgwFoAUHIgIuFE4
i0JDvQHH/RwI/c2Bg4cwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEA0ZUuPevfDN9i8CPJYYHTkOtGUBs0RxdB5JEWWRfzVYQCIQDRaXjeEgfmuTj3
TWfuN6rCJiSMpT5zQYZHd284jdeScQ==
-----END CERTIFICATE-----
`;
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgtycdfs0TtUVmQuPT
5BNex3eOX1z3D5rqlPOCgXhk0QihRANCAAQVI+BfRUleFHrPi+rr/ASyY8DDoBMO
hqLuJoMSLOcrvybZLp97zdKa+uJPH6j7pc5cXJ/7lJL2HEG+zb9P8HH4
-----END PRIVATE KEY-----
`;
// Another self-signed certificate, not signed by the CA above.
const OTHER_CERT = `-----BEGIN CERTIFICATE-----
MIIBkDCCATWgAwIBAgIUGhOV/7xZD8/GNY6XmxQshqQOjWowCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRd2FtcG1lc2gtb3RoZXItY2EwIBcNMjYxMTIyMTQzOTUwWhgP
MjEyNjEwMjkxNDM5NTBaMBwxGjAYBgNVBAMMEXdhbXBtZXNoLW90aGVyLWNhMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9Xk8WsGj0hruikl+I0taGO3xBHLIHoAw
JLRL0ST+GgK3KprcGwcVx9eT4lDbrpqwFX2GVI89wXPjt0DKO4o3taNTMFEwHQYD
VR0OBBYEFGzcS2e5jji2k22MHJrIRdV0j2nvMB8GA1UdIwQYMBaAFGzcS2e5jji2
k22MHJrIRdV0j2nvMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIh
AK1hAAF4zs9hdmf0h8X3kliQ4a1Pb7Er2ybNeVdYW9oDAiEA88IfK1eJ1+7pIcWu
qhcg7bLozZmyE2ajS9Z5SK7EkIA=
-----END CERTIFICATE-----
`;
const OTHER_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQglrcYVcANxOxyWYJd
VwwWvpNTjqT20fTLhxwNOpoNh4ChRANCAAT1eTxawaPSGu6KSX4jS1oY7fEEcsge
gDAktEvRJP4aArcqmtwbBxXH15PiUNuumrAVfYZUjz3Bc+O3QMo7ije1
-----END PRIVATE KEY-----
`;
const TLS = { cert: TLS_CERT, key: TLS_KEY, ca: TLS_CERT };

test('TLS: two nodes with mutual TLS carry a call; a wrong secret still fails over TLS', async (t) => {
  const a = await routerNode(t, 'A', { tls: TLS });
  const b = await routerNode(t, 'B', { tls: TLS });
  a.links.setPeerAddress('B', { host: HOST, port: b.port });
  a.mesh.peerDiscovered('B');
  await until(() => linkPeers(a).includes('B') && linkPeers(b).includes('A'), 5000, 'A-B link over TLS');
  t.true(a.links.status().tls && a.links.status().links[0]!.tls);
  const callee = client(b.router);
  register(callee, 'com.test.secure');
  serve(t, callee, 'B');
  await until(() => a.mesh.status().remoteCallees === 1, 5000, 'registration advertised');
  t.deepEqual(await call(client(a.router), 1, 'com.test.secure', ['s']), [50, 1, {}, ['B', 's']]);

  const wrong = await linkNode(t, 'W', { tls: TLS, clusterSecret: 'not-the-cluster-secret-at-all' });
  wrong.links.setPeerAddress('A', { host: HOST, port: a.port });
  wrong.links.connect('A');
  await until(() => wrong.rec.count('dialFailed', 'A') === 1, 3000, 'dial failure');
  t.true(logged(wrong.logs, /authentication failed/, 'warn'));
  t.deepEqual(linkPeers(a), ['B']);
});

test('TLS: a plain-TCP node and a certificate outside the CA are refused, with log lines', async (t) => {
  const secure = await linkNode(t, 'S', { tls: TLS });
  const plain = await linkNode(t, 'P');
  plain.links.setPeerAddress('S', { host: HOST, port: secure.port });
  plain.links.connect('S');
  await until(() => plain.rec.count('dialFailed', 'S') === 1, 3000, 'plain -> TLS dial failure');
  await until(() => logged(secure.logs, /TLS handshake failed/), 3000, 'TLS log line');

  secure.links.setPeerAddress('P', { host: HOST, port: plain.port });
  secure.links.connect('P');
  await until(() => secure.rec.count('dialFailed', 'P') === 1, 3000, 'TLS -> plain dial failure');
  await until(() => logged(plain.logs, /started TLS/), 3000, 'plain log line');

  const outsider = await linkNode(t, 'O', { tls: { cert: OTHER_CERT, key: OTHER_KEY, ca: TLS_CERT } });
  outsider.links.setPeerAddress('S', { host: HOST, port: secure.port });
  outsider.links.connect('S');
  await until(() => outsider.rec.count('dialFailed', 'S') === 1, 3000, 'outsider dial failure');
  await until(() => logged(secure.logs, /certificate not accepted/, 'warn'), 3000, 'log line on the CA-checking node');
  t.true(
    logged(outsider.logs, /closed by the peer \(tls\): certificate not accepted/, 'warn'),
    'the outsider is told why',
  );
  // The other way round: the outsider dialed by a node that checks its certificate.
  secure.links.setPeerAddress('O', { host: HOST, port: outsider.port });
  secure.links.connect('O');
  await until(() => secure.rec.count('dialFailed', 'O') === 1, 3000, 'dial to the outsider fails');
  t.true(logged(secure.logs, /the peer's certificate was not accepted/, 'warn'));
  t.deepEqual(
    secure.rec.events.filter((e) => e.ev !== 'dialFailed'),
    [],
  );
});
