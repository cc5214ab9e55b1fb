// The web console's files. Its script (src/console/) is bundled with esbuild: by
// scripts/build-binary.mjs into the executable, or at start when running from the sources
// (esbuild is a devDependency). Everything the page needs comes from the router: it works
// offline, and its Content-Security-Policy allows nothing else.

/** A static file of the console: its bytes and media type. */
export interface StaticFile {
  readonly type: string;
  readonly body: Uint8Array | string;
}

import { readFileSync } from 'node:fs';

// Set by scripts/build-binary.mjs (esbuild `define`); absent when running from the sources.
declare const __WAMPMESH_CONSOLE_JS__: string | undefined;

/** The bundled script, or why there is none. */
export async function consoleScript(): Promise<{ js: string } | { off: string }> {
  if (typeof __WAMPMESH_CONSOLE_JS__ === 'string') return { js: __WAMPMESH_CONSOLE_JS__ };
  try {
    const esbuild = await import('esbuild');
    // The same options as scripts/build-binary.mjs uses for the executable.
    const options = JSON.parse(readFileSync(new URL('../console/bundle.json', import.meta.url), 'utf8')) as object;
    const result = await esbuild.build({
      ...options,
      entryPoints: [new URL('../console/main.ts', import.meta.url).pathname],
      write: false,
    });
    return { js: result.outputFiles[0]!.text };
  } catch (e) {
    return { off: `the console script cannot be bundled (esbuild missing?): ${(e as Error).message}` };
  }
}

const CSS = `
body { font: 14px system-ui, sans-serif; margin: 0; color: #1d2733; background: #f4f6f8; }
header { background: #1d2733; color: #fff; padding: 10px 16px; display: flex; gap: 16px; align-items: baseline; }
header h1 { font-size: 16px; margin: 0; }
main, #login { padding: 16px; }
#login form { display: grid; gap: 8px; max-width: 260px; }
#login-error, [data-state=refused] #status { color: #b3261e; }
section { background: #fff; border-radius: 6px; padding: 12px; margin-bottom: 12px; box-shadow: 0 1px 2px #0002; }
#top { display: flex; gap: 12px; flex-wrap: wrap; }
figure { margin: 0 12px 0 0; display: inline-block; } .chart { color: #2f6fb2; background: #eef3f8; }
#graph .link { stroke: #8aa1b8; stroke-width: 3; }
#graph .node circle { fill: #4caf50; stroke: #1d2733; } #graph .node.self circle { fill: #2f6fb2; }
#graph .node.down circle { fill: #d9534f; }
#recent ol { list-style: none; padding: 0; font-size: 13px; } #recent li { padding: 3px 6px; border-left: 4px solid #f0ad4e; margin: 2px 0; }
#recent li.error { border-color: #d9534f; } #recent li.info { border-color: #8aa1b8; } #recent .field { color: #55606b; } #graph text { text-anchor: middle; font-size: 12px; }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 4px 8px; border-bottom: 1px solid #dde3e9; vertical-align: top; }
code { background: #eef3f8; padding: 0 3px; margin-right: 2px; }
#members button { font-size: 12px; } #members tr.pending { background: #fff6e5; } #members .note { color: #55606b; }
`;

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="6" fill="#2f6fb2"/></svg>';

function page(ws: { port: number; path: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wampmesh console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="wamp-port" content="${ws.port}"><meta name="wamp-path" content="${ws.path.replace(/[^A-Za-z0-9/_.~-]/g, '')}">
<link rel="stylesheet" href="app.css"><link rel="icon" href="favicon.svg"></head>
<body><header><h1>wampmesh</h1><span id="status">not logged in</span></header>
<div id="login"><form id="login-form"><label>Administrator <input id="user" autocomplete="username" value="admin"></label>
<label>Password <input id="password" type="password" autocomplete="current-password"></label>
<button type="submit">Log in</button><p id="login-error"></p></form></div>
<main id="main" hidden><div id="top"><section id="mesh"></section><section id="charts"></section></div><section id="members"></section><section id="realms"></section><section id="recent"></section><section id="tls"></section></main>
<script src="app.js"></script></body></html>
`;
}

// The page talks to the WebSocket listener (another port is another origin: ws: is allowed).
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

export function consoleFiles(js: string, ws: { port: number; path: string }): Map<string, StaticFile> {
  const html: StaticFile = { type: 'text/html; charset=utf-8', body: page(ws) };
  return new Map([
    ['/console/', html],
    ['/console/index.html', html],
    ['/console/app.js', { type: 'text/javascript; charset=utf-8', body: js }],
    ['/console/app.css', { type: 'text/css; charset=utf-8', body: CSS }],
    ['/console/favicon.svg', { type: 'image/svg+xml', body: FAVICON }],
  ]);
}
