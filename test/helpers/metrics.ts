// Reading a router's /metrics in tests: fetch over real HTTP, parse the text format into
// "name{labels}" -> value, and validate the whole text with Prometheus's own promtool.

import { spawn } from 'node:child_process';

export async function httpGet(
  port: number,
  path: string,
  host = '127.0.0.1',
): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(`http://${host}:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/** Samples by their series as written ("wampmesh_calls_total{realm=\"realm1\",outcome=\"ok\"}"). */
export function parseSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

export async function scrape(port: number): Promise<{ text: string; samples: Map<string, number> }> {
  const { status, text } = await httpGet(port, '/metrics');
  if (status !== 200) throw new Error(`/metrics answered ${status}: ${text}`);
  return { text, samples: parseSamples(text) };
}

/** `promtool check metrics` on the text: its exit code and what it printed. */
export function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', reject); // not installed: scripts/install-test-deps.sh installs Debian's prometheus
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
    child.stdin.end(text);
  });
}
