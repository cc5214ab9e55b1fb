// Runs the Autobahn|Python scripts in test/interop/python as child processes and turns their
// one-line JSON report into per-case ava assertions.

import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';

const scriptDir = fileURLToPath(new URL('../python/', import.meta.url));

// Debian's interpreter: the `python3` first on PATH on these machines is a separate build
// that cannot import Debian's python3-autobahn. Overridable for other setups.
export const python = process.env.WAMPMESH_TEST_PYTHON ?? '/usr/bin/python3';

export interface CaseFailure {
  case: string;
  reason: string;
}
export interface PythonReport {
  passed: string[];
  failed: CaseFailure[];
}

export interface PythonRun {
  /** Undefined when the script died without printing its JSON line. */
  report: PythonReport | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** Fails fast, with the fix in the message, when the client libraries are missing. */
export function checkPythonDeps(): string | undefined {
  const probe = spawnSync(python, ['-c', 'import autobahn, cbor2, msgpack; print(autobahn.__version__)'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (probe.status === 0) return undefined;
  return (
    `${python} cannot import autobahn/cbor2/msgpack (${(probe.stderr || String(probe.error)).trim()}).\n` +
    'Install: apt-get install -y python3-autobahn python3-cbor2 python3-msgpack python3-nacl'
  );
}

/**
 * Runs one script with a hard timeout. The scripts carry their own, shorter deadline and
 * still print a report when it trips; the SIGKILL here is only for a wedged interpreter.
 */
export function runPythonScript(script: string, args: string[], timeoutMs: number): Promise<PythonRun> {
  return new Promise((resolve) => {
    const child = spawn(python, [scriptDir + script, ...args], {
      cwd: scriptDir,
      // No __pycache__ in the source tree; unbuffered so a killed script still shows its stderr.
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      stderr += `\nspawn failed: ${error.message}`;
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ report: parseReport(stdout), exitCode, signal, timedOut, stdout, stderr });
    });
  });
}

function parseReport(stdout: string): PythonReport | undefined {
  const line = stdout.trim().split('\n').at(-1);
  if (!line) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null) return undefined;
    const { passed, failed } = value as Partial<PythonReport>;
    if (!Array.isArray(passed) || !Array.isArray(failed)) return undefined;
    return { passed, failed };
  } catch {
    return undefined;
  }
}

function tail(text: string, max = 6000): string {
  return text.length > max ? '…' + text.slice(-max) : text;
}

function describeRun(run: PythonRun): string {
  const how = run.timedOut
    ? 'killed after its hard timeout'
    : run.signal
      ? `killed by ${run.signal}`
      : `exit code ${run.exitCode}`;
  return `${how}\n--- stdout ---\n${tail(run.stdout)}\n--- stderr ---\n${tail(run.stderr)}`;
}

/** Asserts that the script reported `name` as passed; otherwise shows why, with its stderr. */
export function assertCase(t: ExecutionContext, run: PythonRun, name: string): void {
  if (!run.report) {
    t.fail(`script printed no JSON report; ${describeRun(run)}`);
    return;
  }
  const failures = run.report.failed.filter((f) => f.case === name);
  if (failures.length > 0) {
    t.log(`python stderr (tail):\n${tail(run.stderr, 3000)}`);
    t.fail(failures.map((f) => f.reason).join('\n'));
    return;
  }
  t.true(run.report.passed.includes(name), `case "${name}" not reported by the script; ${describeRun(run)}`);
}

/** Asserts the script ran to completion and reported nothing beyond the known cases. */
export function assertCleanRun(t: ExecutionContext, run: PythonRun, known: readonly string[]): void {
  t.truthy(run.report, `script printed no JSON report; ${describeRun(run)}`);
  if (!run.report) return;
  const knownSet = new Set(known);
  const extra = [...run.report.passed, ...run.report.failed.map((f) => f.case)].filter((c) => !knownSet.has(c));
  t.deepEqual(
    run.report.failed.filter((f) => !knownSet.has(f.case)),
    [],
    'failures outside the listed cases',
  );
  t.deepEqual([...new Set(extra)], [], 'cases reported that this test does not know about');
  const expectedExit = run.report.failed.length === 0 ? 0 : 1;
  t.is(run.exitCode, expectedExit, `exit code should reflect the report; ${describeRun(run)}`);
}
