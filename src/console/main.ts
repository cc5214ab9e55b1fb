// The web console: log in as an administrator of the admin realm, then poll
// wampmesh.console.snapshot once a second and draw the mesh, this node's realms and small
// charts of message and call rates. Plain DOM and SVG: nothing to fetch from elsewhere.

import { WampError, WampSession } from './wamp.ts';

interface Realm {
  uri: string;
  sessions: number;
  registrationCount: number;
  registrations: string[];
  subscriptionCount: number;
  subscriptions: string[];
  calls: Record<string, number>;
  eventsDropped: number;
  authFailures: number;
}
interface Snapshot {
  at: number;
  realms: Realm[];
  totals?: { messagesIn: number; messagesOut: number; calls: number; slowConsumerCloses: number };
  mesh?: {
    node: string;
    nodes: { id: string; links: string[] }[];
    reachable: string[];
    links: { peer: string; rttMs?: number; bytesIn: number; bytesOut: number }[];
    integrityFailures: number;
    trust?: { members: Record<string, string>; removed: string[]; pending: Record<string, string> };
  };
  recentErrors?: { total: number; entries: RecentEntry[] };
  tls?: { field: string; tls: { fingerprint: string; subject: string; validTo: string } }[];
}
interface RecentEntry {
  at: number;
  level: string;
  msg: string;
  fields: Record<string, string | number | boolean>;
}

const ADMIN_REALM = 'wampmesh.admin';
const POINTS = 60;
const $ = (id: string): HTMLElement => document.getElementById(id)!;
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function wsUrl(): string {
  const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';
  const port = meta('wamp-port') || location.port;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.hostname}:${port}${meta('wamp-path') || '/ws'}`;
}

/** Per-second rates from successive totals. */
class Rates {
  readonly series: number[] = [];
  #last: { at: number; value: number } | undefined;
  push(at: number, value: number): void {
    if (this.#last !== undefined && at > this.#last.at)
      this.series.push(Math.max(0, ((value - this.#last.value) * 1000) / (at - this.#last.at)));
    if (this.series.length > POINTS) this.series.shift();
    this.#last = { at, value };
  }
}

function sparkline(values: number[], label: string): string {
  const w = 240,
    h = 48;
  const max = Math.max(1, ...values);
  const pts = values
    .map((v, i) => `${((i * w) / (POINTS - 1)).toFixed(1)},${(h - (v * (h - 4)) / max).toFixed(1)}`)
    .join(' ');
  const now = values.at(-1) ?? 0;
  return `<figure><figcaption>${esc(label)}: <b>${now.toFixed(0)}/s</b></figcaption><svg width="${w}" height="${h}" class="chart"><polyline fill="none" stroke="currentColor" points="${pts}"/></svg></figure>`;
}

function meshGraph(mesh: NonNullable<Snapshot['mesh']>): string {
  const ids = [...new Set([mesh.node, ...mesh.nodes.map((n) => n.id)])].sort();
  const reachable = new Set([mesh.node, ...mesh.reachable]);
  const size = 320,
    r = 120,
    c = size / 2;
  const pos = new Map(
    ids.map((id, i) => {
      const a = (2 * Math.PI * i) / ids.length - Math.PI / 2;
      return [id, { x: c + r * Math.cos(a), y: c + r * Math.sin(a) }];
    }),
  );
  // A link is drawn when both ends advertise it: a cut link disappears as soon as one side notices.
  const adv = new Map(mesh.nodes.map((n) => [n.id, new Set(n.links)]));
  const edges: string[] = [];
  for (const a of ids)
    for (const b of adv.get(a) ?? []) {
      if (a < b && adv.get(b)?.has(a) === true && pos.has(b)) {
        const p = pos.get(a)!,
          q = pos.get(b)!;
        edges.push(
          `<line class="link" data-link="${esc(a)}~${esc(b)}" x1="${p.x}" y1="${p.y}" x2="${q.x}" y2="${q.y}"/>`,
        );
      }
    }
  const nodes = ids.map((id) => {
    const p = pos.get(id)!;
    const cls = id === mesh.node ? 'self' : reachable.has(id) ? 'up' : 'down';
    return `<g class="node ${cls}" data-node="${esc(id)}"><circle cx="${p.x}" cy="${p.y}" r="22"/><text x="${p.x}" y="${p.y + 38}">${esc(id)}</text></g>`;
  });
  return `<svg id="graph" width="${size}" height="${size + 20}">${edges.join('')}${nodes.join('')}</svg>`;
}

function realmsTable(realms: Realm[]): string {
  const rows = realms.map(
    (r) =>
      `<tr data-realm="${esc(r.uri)}"><td>${esc(r.uri)}</td><td>${r.sessions}</td>` +
      `<td class="regs">${r.registrationCount} ${r.registrations.map((u) => `<code>${esc(u)}</code>`).join(' ')}</td>` +
      `<td class="subs">${r.subscriptionCount} ${r.subscriptions.map((u) => `<code>${esc(u)}</code>`).join(' ')}</td>` +
      `<td>${r.calls.ok ?? 0} ok, ${Object.entries(r.calls)
        .filter(([k]) => k !== 'ok')
        .reduce((n, [, v]) => n + v, 0)} failed</td>` +
      `<td>${r.eventsDropped}</td><td>${r.authFailures}</td></tr>`,
  );
  return `<table><thead><tr><th>realm</th><th>sessions</th><th>registrations</th><th>subscriptions</th><th>calls</th><th>events dropped</th><th>auth failures</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/**
 * The mesh's members and the nodes refused for want of an admission (secretJoin off), each with
 * its key, with buttons that call wampmesh.mesh.admit and wampmesh.mesh.remove.
 */
function membersTable(trust: NonNullable<NonNullable<Snapshot['mesh']>['trust']>, note: string): string {
  const row = (id: string, key: string, state: string, button: string) =>
    `<tr class="${state}" data-member="${esc(id)}"><td>${esc(id)}</td><td>${state}</td><td>${key === '' ? '' : `<code>${esc(key)}</code>`}</td><td>${button}</td></tr>`;
  const rows = [
    ...Object.entries(trust.pending).map(([id, key]) =>
      row(id, key, 'pending', `<button data-admit="${esc(id)}">Admit</button>`),
    ),
    ...Object.entries(trust.members).map(([id, key]) =>
      row(id, key, 'member', `<button data-remove="${esc(id)}">Remove</button>`),
    ),
    ...trust.removed.map((id) => row(id, '', 'removed', '')),
  ];
  return (
    `<h2>Mesh members</h2><table><thead><tr><th>node</th><th>state</th><th>key</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    `<p class="note" id="members-note">${esc(note)}</p>`
  );
}

/** Admit and remove buttons: the admin API's procedures, as `wampmesh mesh admit|remove` calls them. */
function memberActions(session: WampSession, setNote: (note: string) => void): void {
  $('members').addEventListener('click', (e) => {
    const button = (e.target as HTMLElement).closest('button');
    if (button === null) return;
    const admit = button.dataset.admit;
    const remove = button.dataset.remove;
    const node = admit ?? remove;
    if (node === undefined) return;
    // A removal is for good (only an admission with a new key lets the node in again): asked first.
    if (remove !== undefined && !window.confirm(`Remove node ${remove} from the mesh for good?`)) return;
    button.disabled = true;
    session.call(admit !== undefined ? 'wampmesh.mesh.admit' : 'wampmesh.mesh.remove', [node]).then(
      () => setNote(admit !== undefined ? `${node} admitted` : `${node} removed`),
      (err: Error) => setNote(`${node}: ${err instanceof WampError ? `${err.uri} ` : ''}${err.message}`),
    );
  });
}

/** The router's recent warnings and errors, newest first (src/observe/recent-log.ts). */
function recentList(recent: NonNullable<Snapshot['recentErrors']>): string {
  const items = recent.entries.map((e) => {
    const fields = Object.entries(e.fields)
      .map(([k, v]) => `<span class="field">${esc(k)}=${esc(String(v))}</span>`)
      .join(' ');
    return `<li class="${esc(e.level)}" data-level="${esc(e.level)}"><time>${new Date(e.at).toLocaleTimeString()}</time> <b>${esc(e.msg)}</b> ${fields}</li>`;
  });
  return `<h2>Recent errors (${recent.total})</h2>${items.length === 0 ? '<p>none</p>' : `<ol id="recent-list">${items.join('')}</ol>`}`;
}

async function run(session: WampSession): Promise<void> {
  const msgs = new Rates();
  const calls = new Rates();
  $('login').hidden = true;
  $('main').hidden = false;
  let stopped = false;
  let note = '';
  memberActions(session, (n) => {
    note = n;
  });
  session.onclose = (why) => {
    stopped = true;
    $('status').textContent = `disconnected: ${why}`;
  };
  while (!stopped) {
    let snap: Snapshot;
    try {
      snap = (await session.call('wampmesh.console.snapshot'))[0] as Snapshot;
    } catch (e) {
      const uri = e instanceof WampError ? e.uri : '';
      $('status').textContent =
        uri === 'wamp.error.not_authorized'
          ? 'refused: this user is not an administrator'
          : `error: ${(e as Error).message}`;
      $('main').dataset.state = 'refused';
      session.close();
      return;
    }
    $('main').dataset.state = 'live';
    $('status').textContent = `live, ${new Date(snap.at).toLocaleTimeString()}`;
    if (snap.totals !== undefined) {
      msgs.push(snap.at, snap.totals.messagesIn + snap.totals.messagesOut);
      calls.push(snap.at, snap.totals.calls);
      $('charts').innerHTML =
        sparkline(msgs.series, 'messages') +
        sparkline(calls.series, 'calls') +
        `<p>slow-consumer closes: ${snap.totals.slowConsumerCloses}</p>`;
    } else {
      $('charts').innerHTML = '<p>Charts need an HTTP listener serving "metrics" (the router counts only then).</p>';
    }
    if (snap.mesh !== undefined) {
      const m = snap.mesh;
      $('mesh').innerHTML =
        `<h2>Mesh: node ${esc(m.node)}, ${m.reachable.length + 1} reachable</h2>${meshGraph(m)}` +
        `<ul id="links">${m.links.map((l) => `<li>${esc(l.peer)}: rtt ${l.rttMs ?? '?'} ms, ${l.bytesIn} B in, ${l.bytesOut} B out</li>`).join('')}</ul>` +
        `<p>integrity failures: ${m.integrityFailures}</p>`;
      $('members').innerHTML = m.trust === undefined ? '' : membersTable(m.trust, note);
    } else {
      $('mesh').innerHTML = '<h2>Mesh: off</h2>';
      $('members').innerHTML = '';
    }
    $('realms').innerHTML = realmsTable(snap.realms);
    $('recent').innerHTML = snap.recentErrors === undefined ? '' : recentList(snap.recentErrors);
    $('tls').innerHTML =
      snap.tls === undefined
        ? ''
        : `<h2>TLS certificates</h2><ul>${snap.tls
            .map(
              (l) =>
                `<li>${esc(l.field)}: <code class="fingerprint">${esc(l.tls.fingerprint)}</code> ${esc(l.tls.subject)}, valid to ${esc(l.tls.validTo)}</li>`,
            )
            .join('')}</ul>`;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const user = ($('user') as HTMLInputElement).value;
  const password = ($('password') as HTMLInputElement).value;
  $('login-error').textContent = '';
  WampSession.open(wsUrl(), ADMIN_REALM, user, password).then(run, (err: Error) => {
    $('login-error').textContent = `login refused: ${err.message}`;
  });
});
