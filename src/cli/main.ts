// The wampmesh command (scripts/wampmesh runs this on the project's Node 24).
// Exit status: 0 ok, 1 runtime or config error, 2 command-line mistake, 3 `mesh status` on a router without a mesh.

import { ConfigError, loadConfig } from '../config/config.ts';
import { createLogger } from '../log.ts';
import { applyServeFlags, parseCommandLine, type Command } from './args.ts';
import { mainHelp, serveHelp } from './help.ts';
import { StartError, UsageError } from './errors.ts';
import { versionLine } from './version.ts';

// Admin subcommands; loaded on demand so --help and --version stay light.
const ADMIN_COMMANDS = new Set([
  'realm',
  'user',
  'group',
  'grant',
  'source',
  'api',
  'security',
  'mesh',
  'bridge',
  'admin',
]);

function fail(message: string, code: number): never {
  process.stderr.write(`wampmesh: ${message}\n`);
  process.exit(code);
}

/**
 * The admin commands print no stack, whatever fails: an operator reads one line saying what is
 * wrong (a store, connection or refusal), and an unexpected failure is still one line.
 */
async function admin(argv: readonly string[]): Promise<never> {
  let code: number;
  try {
    if (argv[0] === 'admin') {
      const { runAdminReset } = await import('./admin-reset.ts');
      code = runAdminReset(argv.slice(1), (s) => process.stdout.write(s));
    } else {
      const { runAdmin } = await import('./admin.ts');
      code = await runAdmin(
        argv,
        (s) => process.stdout.write(s),
        (s) => process.stderr.write(s),
      );
    }
  } catch (e) {
    if (e instanceof UsageError) fail(`${e.message}\nTry 'wampmesh ${argv[0]} --help'.`, 2);
    const err = e as Error & { uri?: unknown };
    if (typeof err.uri === 'string') fail(`${err.message} (${err.uri})`, 1);
    // An errno failure (--out to a folder one may not write) says what it is in its message.
    const known =
      e instanceof StartError ||
      e instanceof ConfigError ||
      err.name === 'StoreError' ||
      /^E[A-Z]+$/.test(String((e as NodeJS.ErrnoException)?.code));
    fail(known ? err.message : `internal error: ${err?.message ?? String(e)}`, 1);
  }
  process.exit(code);
}

async function main(argv: readonly string[]): Promise<void> {
  if (ADMIN_COMMANDS.has(argv[0] ?? '')) return admin(argv);
  if (argv[0] === 'tls') {
    const { runTls } = await import('./tls.ts');
    try {
      process.exit(runTls(argv.slice(1), (s) => process.stdout.write(s)));
    } catch (e) {
      if (e instanceof UsageError) fail(`${e.message}\nTry 'wampmesh tls --help'.`, 2);
      throw e;
    }
  }
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    fail(`${e.message}\nTry 'wampmesh --help'.`, 2);
  }
  switch (command.name) {
    case 'help':
      process.stdout.write(command.topic === 'serve' ? serveHelp : mainHelp);
      return;
    case 'version':
      process.stdout.write(`${versionLine()}\n`);
      return;
    case 'serve': {
      const config = applyServeFlags(loadConfig(command.flags.config), command.flags);
      // Loaded only here: --help and --version need neither the router nor uWebSockets.js.
      const { runServe } = await import('./serve.ts');
      await runServe(config, createLogger({ level: config.logLevel }));
      return;
    }
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  // Expected failures get one line without a stack; anything else is a bug and keeps its stack.
  if (e instanceof ConfigError || e instanceof StartError || (e instanceof Error && e.name === 'StoreError'))
    fail(e.message, 1);
  fail(e instanceof Error ? (e.stack ?? e.message) : String(e), 1);
});
