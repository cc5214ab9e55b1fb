// Autobahn|Python (Debian's python3-autobahn) inside a namespace: started, or run to the end
// with a deadline, and the check that it is installed at all.

import { spawnSync } from 'node:child_process';
import { python } from './netns-paths.ts';
import { startInNetns, type NsProcess, type StartOptions } from './netns-process.ts';

/** Starts `/usr/bin/python3 script args` inside `ns`, unbuffered, no __pycache__. */
export function startPythonInNetns(
  ns: string,
  script: string,
  args: readonly string[],
  options: StartOptions = {},
): NsProcess {
  return startInNetns(ns, python, [script, ...args], {
    ...options,
    env: { ...process.env, ...options.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
  });
}

export interface PythonResult {
  code: number;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  lines: readonly string[];
}

/** Runs `/usr/bin/python3 script args` inside `ns` to the end (SIGKILL at timeoutMs). */
export async function runPythonInNetns(
  ns: string,
  script: string,
  args: readonly string[],
  timeoutMs: number,
  options: StartOptions = {},
): Promise<PythonResult> {
  const proc = startPythonInNetns(ns, script, args, options);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void proc.kill();
  }, timeoutMs);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, timedOut, stdout: proc.stdout(), stderr: proc.stderr(), lines: proc.lines() };
}

/** Checks that Debian's Autobahn|Python is importable; the fix in the message when not. */
export function pythonAutobahnMissing(): string | undefined {
  const probe = spawnSync(python, ['-c', 'import autobahn'], { encoding: 'utf8', timeout: 20_000 });
  if (probe.status === 0) return undefined;
  return `${python} cannot import autobahn (${(probe.stderr || String(probe.error)).trim()}); apt-get install -y python3-autobahn`;
}
