// systemd's notification protocol (sd_notify(3)) without a native addon: READY=1 for
// Type=notify, WATCHDOG=1 pings for WatchdogSec=, STOPPING=1, STATUS=.
//
// The protocol is one datagram per message to the AF_UNIX socket named by $NOTIFY_SOCKET.
// Node has no AF_UNIX datagram sockets (node:dgram is UDP only, node:net is stream only), but
// write(2) on a *connected* datagram socket sends a datagram, and Node can write to any file
// descriptor. So the socket only has to be created and connected once, by something else,
// inside this very process:
//
//   prepareNotifySocket() — called first thing in `serve` — re-executes the process through
//   Perl (perl-base is Essential on Debian, Raspberry Pi OS and Ubuntu), which creates the
//   socket, connects it to $NOTIFY_SOCKET, leaves it open across exec and execs wampmesh again
//   with the same arguments and $WAMPMESH_NOTIFY_FD naming it. execve keeps the PID, so
//   systemd sees every message come from the main PID (NotifyAccess=main suffices) and there
//   is no helper process to die or to race with, unlike spawning systemd-notify (whose
//   messages systemd < 254 drops when the short-lived sender has already exited).
//
// Without Perl (or on a Node without process.execve) notifications are off and one warning
// says so; scripts/install.sh then installs a drop-in that makes the unit Type=exec without a
// watchdog, so the service still starts. Outside systemd ($NOTIFY_SOCKET unset) all of this is
// a no-op.

import fs from 'node:fs';
import { isSea } from './native.ts';

const FD_ENV = 'WAMPMESH_NOTIFY_FD';
const PERL = '/usr/bin/perl';

// $ARGV: the program to exec and its arguments. $^F high so the socket survives exec;
// non-blocking so a stalled manager never stalls the router (the message is dropped instead).
const PERL_SCRIPT = `
use strict; use Socket; use Fcntl;
my $path = $ENV{NOTIFY_SOCKET} // '';
$path =~ s/^@/\\0/;
$^F = 1023;
my $fd = 'none';
if (socket(my $s, PF_UNIX, SOCK_DGRAM, 0)) {
  if (connect($s, pack_sockaddr_un($path))) {
    fcntl($s, F_SETFL, fcntl($s, F_GETFL, 0) | O_NONBLOCK);
    $fd = fileno($s);
    our $keep = $s;
  } else { print STDERR "wampmesh: cannot connect to NOTIFY_SOCKET $ENV{NOTIFY_SOCKET}: $!\\n"; }
} else { print STDERR "wampmesh: cannot create a notify socket: $!\\n"; }
$ENV{${FD_ENV}} = $fd;
exec { $ARGV[0] } @ARGV or die "wampmesh: cannot re-exec $ARGV[0]: $!\\n";
`;

export type NotifyMode = 'off' | 'socket' | 'unavailable';

let fd: number | undefined;
let mode: NotifyMode | undefined;
let warned = false;

function socketPathValid(p: string | undefined): p is string {
  return p !== undefined && (p.startsWith('/') || p.startsWith('@'));
}

/** The program and arguments that start this same process again. */
function selfCommand(): string[] {
  // In the single executable argv[1] repeats the executable, and its execArgv are the ones its
  // blob applies at every start: given again they would be taken for the CLI's own options.
  // From the sources argv[1] is main.ts and the node options must be given again.
  if (isSea()) return [process.execPath, ...process.argv.slice(2)];
  return [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
}

function usableFd(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  try {
    return fs.fstatSync(n).isSocket() ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Call before anything else in `serve` (before opening files or ports): under systemd it may
 * replace the process image (same PID) and so never return. Returns how notifications will go.
 * `warn` receives one line when systemd asked for notifications but they cannot be sent.
 */
export function prepareNotifySocket(warn: (message: string) => void = defaultWarn): NotifyMode {
  if (mode) return mode;
  const env = process.env;
  if (env[FD_ENV] !== undefined) {
    fd = usableFd(env[FD_ENV]);
    // Not inherited further: a child process must not talk to systemd in our name.
    delete env[FD_ENV];
    mode = fd === undefined ? 'unavailable' : 'socket';
    if (mode === 'unavailable' && socketPathValid(env.NOTIFY_SOCKET))
      warnOnce(warn, 'cannot use $NOTIFY_SOCKET: systemd notifications (READY, WATCHDOG) are off');
    return mode;
  }
  if (!socketPathValid(env.NOTIFY_SOCKET)) {
    mode = 'off';
    return mode;
  }
  const execve = process.execve;
  if (typeof execve !== 'function' || !fs.existsSync(PERL)) {
    mode = 'unavailable';
    warnOnce(
      warn,
      `systemd notifications need ${PERL} (Debian package perl-base) and process.execve: READY and WATCHDOG are off`,
    );
    return mode;
  }
  // process.execve is experimental in Node 24 and says so on stderr; this use is deliberate.
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (text.includes('execve')) return;
    (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    execve.call(process, PERL, ['perl', '-e', PERL_SCRIPT, ...selfCommand()], { ...env });
  } finally {
    process.emitWarning = emitWarning;
  }
  // Not reached: execve either replaces the process or throws.
  mode = 'unavailable';
  return mode;
}

function defaultWarn(message: string): void {
  process.stderr.write(`${JSON.stringify({ level: 'warn', time: new Date().toISOString(), msg: message })}\n`);
}

function warnOnce(warn: (message: string) => void, message: string): void {
  if (warned) return;
  warned = true;
  warn(message);
}

/** Sends one notification ("KEY=value" lines). False when notifications are off or it failed. */
export function notify(state: string): boolean {
  if (fd === undefined) return false;
  try {
    fs.writeSync(fd, Buffer.from(state, 'utf8'));
    return true;
  } catch {
    // EAGAIN (manager busy), ECONNREFUSED (manager restarted): a lost ping is retried by the
    // next one; a lost READY shows as a start timeout in `systemctl status`.
    return false;
  }
}

/** READY=1, with an optional STATUS= line for `systemctl status`. */
export function notifyReady(status?: string): boolean {
  return notify(status ? `READY=1\nSTATUS=${oneLine(status)}` : 'READY=1');
}

export function notifyStatus(status: string): boolean {
  return notify(`STATUS=${oneLine(status)}`);
}

/** STOPPING=1: systemd shows "deactivating" instead of assuming a crash. */
export function notifyStopping(status = 'shutting down'): boolean {
  return notify(`STOPPING=1\nSTATUS=${oneLine(status)}`);
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

/**
 * The watchdog interval systemd asked for ($WATCHDOG_USEC, for this PID), in ms; undefined
 * when there is no watchdog.
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const usec = env.WATCHDOG_USEC;
  if (!usec || !/^\d+$/.test(usec) || Number(usec) === 0) return undefined;
  if (env.WATCHDOG_PID && env.WATCHDOG_PID !== String(process.pid)) return undefined;
  return Number(usec) / 1000;
}

/**
 * Sends WATCHDOG=1 at half the interval systemd asked for, from the event loop: a blocked
 * loop stops the pings and systemd restarts the service. `healthy` (optional) can veto a ping.
 * Returns a function that stops the pings. A no-op without WatchdogSec= or notifications.
 */
export function startWatchdog(healthy: () => boolean = () => true): () => void {
  const interval = watchdogIntervalMs();
  if (interval === undefined || fd === undefined) return () => {};
  const ping = (): void => {
    if (healthy()) notify('WATCHDOG=1');
  };
  ping();
  const timer = setInterval(ping, Math.max(1, Math.floor(interval / 2)));
  timer.unref();
  return () => clearInterval(timer);
}
