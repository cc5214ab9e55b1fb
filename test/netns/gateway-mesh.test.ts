// The HTTP gateway across a real multi-hop mesh: `wampmesh serve` with a gateway listener in
// namespaces A, B and C of chain4 (A reaches only B, B only A and C), meshed by mDNS alone (no
// seeds). An API spec added on A with `wampmesh api add` replicates and is served by C's gateway;
// a POST to C (curl inside C's namespace) reaches a callee (Autobahn|Python) registered on A,
// two hops away.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  announceSkip,
  createBed,
  eventually,
  netnsUnavailable,
  pythonAutobahnMissing,
  startInNetns,
  wampmeshBin,
  type Bed,
} from './harness.ts';
import { meshRouter, startAgent, workDir, type Agent, type MeshRouter } from './mesh-harness.ts';

const unavailable = netnsUnavailable();
const HTTP_PORT = 8082;
const REALM = 'com.gwmesh';
const PROC = 'com.gwmesh.add';

if (unavailable !== undefined) {
  announceSkip('test/netns/gateway-mesh.test.ts', unavailable);
  test.skip(`netns gateway mesh (SKIPPED: ${unavailable})`, () => {});
} else {
  let bed: Bed | undefined;
  let work: { dir: string; remove(): void } | undefined;
  const routers: MeshRouter[] = [];
  let onA: Agent | undefined;

  test.before(() => {
    const missing = pythonAutobahnMissing();
    if (missing !== undefined) throw new Error(missing);
  });

  test.after.always(async () => {
    await onA?.stop();
    await Promise.all(routers.map((r) => r.proc?.stop(3_000)));
    bed?.down();
    work?.remove();
  });

  /** POSTs `body` to `path` of the gateway in `ns` with curl; the status and the body. */
  async function post(ns: string, path: string, body: string): Promise<{ status: number; body: string }> {
    const curl = startInNetns(
      ns,
      'curl',
      [
        '-s',
        '-m',
        '10',
        '-H',
        'content-type: application/json',
        '--data-binary',
        body,
        '-w',
        '\n%{http_code}',
        `http://127.0.0.1:${HTTP_PORT}${path}`,
      ],
      { name: 'curl' },
    );
    await curl.exited;
    const out = curl.stdout();
    const nl = out.lastIndexOf('\n');
    return { status: Number(out.slice(nl + 1)), body: out.slice(0, nl) };
  }

  test.serial('a spec added on A is served by C; a call through C reaches a callee on A', async (t) => {
    bed = createBed('chain4', 'gwmesh');
    work = workDir('gateway');
    const http = { http: [{ host: '127.0.0.1', port: HTTP_PORT, serve: ['gateway', 'health'] }] };
    // The realm and its grant are written while the chain is still forming. A node has then been
    // seen to serve the spec, written later, without the grant for longer than the wait below
    // (three times in this file's full-suite runs; replication's push and its anti-entropy on a
    // new link should both have brought it; not explained yet). This test is about the gateway
    // across the mesh, so anti-entropy runs every 2 s here, which brings whatever a push missed.
    const mesh = { antiEntropyMs: 2000 };
    for (const n of ['A', 'B', 'C']) routers.push(meshRouter(bed, n, work.dir, http, mesh));
    await Promise.all(routers.map((r) => r.start()));

    // A store realm (the gateway serves those), set up on A as an operator would; the running
    // routers replicate it with the spec.
    const cli = (args: string[]) =>
      execFileSync(wampmeshBin, [...args, '--data', join(work!.dir, 'A', 'data')], { encoding: 'utf8' });
    cli(['realm', 'create', REALM, '--authmethods', 'anonymous']);
    cli([
      'grant',
      'create',
      REALM,
      '--allow',
      'call,register',
      '--uri',
      'com.gwmesh.',
      '--match',
      'prefix',
      '--to',
      'anonymous',
    ]);

    // The realm is in A's own store, so the callee can join there before anything replicated.
    onA = await startAgent(bed.node('A').ns, 'A', REALM);
    const reg = await onA.request({ op: 'register', procedure: PROC });
    t.true(reg.ok, JSON.stringify(reg));

    const spec = join(work.dir, 'api.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'adder',
        realm: REALM,
        basePath: '/g',
        routes: [{ method: 'POST', path: '/add/{who}', call: PROC, args: ['{body.a}', '{body.b}'] }],
      }),
    );
    cli(['api', 'add', spec]);
    const added = Date.now();

    // Until the spec reached a node: 404 (no route); until A's registration is known there: 503.
    // On failure, the node's log (replication, trust) says why it lacks what another has.
    const served = async (node: 'B' | 'C', body: string, what: string) => {
      let last = { status: 0, body: '' };
      // "Within seconds": a realm replicated after A's advertisement is looked at when it arrives.
      await eventually(
        what,
        15_000,
        async () => {
          last = await post(bed!.node(node).ns, '/g/add/x', body);
          return last.status === 200 ? true : undefined;
        },
        200,
      ).catch((e: Error) => {
        const log =
          routers
            .find((r) => r.node === node)
            ?.proc.stderr()
            .slice(-4000) ?? '';
        throw new Error(`${e.message}; last answer: ${last.status} ${last.body}; ${node}'s log:\n${log}`);
      });
      return last;
    };
    const viaC = await served('C', '{"a":2,"b":40}', 'C serves the spec and reaches the callee on A');
    t.log(`C answered 200 ${Date.now() - added} ms after the spec was added on A`);
    // The agent's add answers CallResult(a + b, its name): the callee that ran is A's.
    t.deepEqual(JSON.parse(viaC.body), { args: [42, 'A'], kwargs: {} });

    // B, between them, serves it too; and a node without the spec would have answered 404.
    // Records replicate each on its own, so B may hold the spec a moment before the grant
    // that C already had: B is waited for as C was.
    await served('B', '{"a":1,"b":1}', 'B serves the spec too');
    t.is((await post(bed.node('C').ns, '/nothing', '{}')).status, 404);
  });
}
