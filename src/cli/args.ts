// Command-line parsing with node:util parseArgs (strict: an unknown flag is an error, never
// silently ignored; through parseOnce: neither is a single-value option given twice) and how
// serve's flags override the config file.

import path from 'node:path';
import { parseConfig, type Config } from '../config/config.ts';
import { isLogLevel, LOG_LEVELS, type LogLevel } from '../log.ts';
import { isValidUri } from '../wamp/uris.ts';
import { ADMIN_REALM } from '../security/admin.ts';
import { parseHostPort, parseWebSocketAddress, type HostPort } from './hostport.ts';
import { UsageError } from './errors.ts';
import { parseOnce } from './single-values.ts';

export interface ServeFlags {
  config?: string;
  ws?: Array<HostPort & { path: string }>;
  rawsocket?: HostPort[];
  unix?: string[];
  /** HTTP listeners serving metrics and health. */
  http?: HostPort[];
  data?: string;
  logLevel?: LogLevel;
  realms?: string[];
}

export type Command =
  | { name: 'help'; topic: 'main' | 'serve' }
  | { name: 'version' }
  | { name: 'serve'; flags: ServeFlags };

const serveOptions = {
  config: { type: 'string' },
  ws: { type: 'string', multiple: true },
  rawsocket: { type: 'string', multiple: true },
  unix: { type: 'string', multiple: true },
  http: { type: 'string', multiple: true },
  data: { type: 'string' },
  'log-level': { type: 'string' },
  realm: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

const mainOptions = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

// parseArgs' own messages are long and suggest "--" tricks; say what is wrong in our words.
function strictParse<T>(argv: readonly string[], parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec(err.message)?.[1] ?? err.message;
      // parseArgs reads "-V=1" as the short options -V, -= and -1, and names the first it does
      // not know ('-='), which was not typed: name the argument that holds it instead.
      const typed = argv.includes(flag) ? flag : argv.find((a) => /^-[^-]/.test(a) && a.includes(flag.slice(1)));
      throw new UsageError(`unknown option '${typed ?? flag}'`);
    }
    if (typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS_')) throw new UsageError(err.message);
    throw e;
  }
}

export function parseCommandLine(argv: readonly string[]): Command {
  if (argv[0] === 'serve') return parseServe(argv.slice(1));
  const { values, positionals } = strictParse(argv, () =>
    parseOnce({ args: [...argv], options: mainOptions, strict: true, allowPositionals: true }),
  );
  if (values.help || positionals[0] === 'help')
    return { name: 'help', topic: positionals[1] === 'serve' ? 'serve' : 'main' };
  if (values.version) return { name: 'version' };
  if (positionals.length > 0) throw new UsageError(`unknown command '${positionals[0]}'`);
  throw new UsageError('a command is required');
}

function parseServe(argv: string[]): Command {
  const { values, positionals } = strictParse(argv, () =>
    parseOnce({ args: argv, options: serveOptions, strict: true, allowPositionals: true }),
  );
  if (values.help) return { name: 'help', topic: 'serve' };
  if (positionals.length > 0) throw new UsageError(`serve: unexpected argument '${positionals[0]}'`);
  const flags: ServeFlags = {};
  if (values.config !== undefined) flags.config = values.config;
  if (values.ws) flags.ws = values.ws.map((v) => parseWebSocketAddress('--ws', v));
  if (values.rawsocket) flags.rawsocket = values.rawsocket.map((v) => parseHostPort('--rawsocket', v));
  if (values.http) flags.http = values.http.map((v) => parseHostPort('--http', v));
  if (values.unix) {
    flags.unix = values.unix.map((v) => {
      if (v === '') throw new UsageError('--unix: expected a file path');
      return path.resolve(v);
    });
  }
  if (values.data !== undefined) {
    if (values.data === '') throw new UsageError('--data: expected a directory path');
    flags.data = path.resolve(values.data);
  }
  const level = values['log-level'];
  if (level !== undefined) {
    if (!isLogLevel(level))
      throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
    flags.logLevel = level;
  }
  if (values.realm) {
    for (const uri of values.realm) {
      // A mistake on the command line like any other (exit 2), not a bad config file (exit 1).
      if (uri === ADMIN_REALM)
        throw new UsageError(
          `--realm: '${uri}' is the router's admin realm, configured with the admin commands (wampmesh realm|user|grant ...); choose another URI`,
        );
      if (!isValidUri(uri))
        throw new UsageError(
          `--realm: '${uri}' is not a valid WAMP URI (dot-separated components without spaces or '#')`,
        );
    }
    flags.realms = [...new Set(values.realm)];
  }
  return { name: 'serve', flags };
}

/**
 * Flags win over the file. A listener flag replaces the file's list of that kind (so tests can
 * say "--ws 127.0.0.1:0" and get exactly that); kinds without a flag keep the file's list.
 * A --realm the file also defines keeps the file's settings; others are anonymous, since the
 * flag exists for quick local use.
 */
export function applyServeFlags(config: Config, flags: ServeFlags): Config {
  const listeners = { ...config.listeners };
  if (flags.ws) listeners.websocket = flags.ws;
  if (flags.rawsocket) listeners.rawsocket = flags.rawsocket;
  if (flags.unix) listeners.unix = flags.unix.map((p) => ({ path: p, mode: '0660' }));
  if (flags.http) listeners.http = flags.http.map((hp) => ({ ...hp, serve: ['metrics', 'health'] }));
  const realms = flags.realms
    ? flags.realms.map(
        (uri) =>
          config.realms.find((r) => r.uri === uri) ??
          parseConfig({ realms: [{ uri, anonymous: true }] }, `--realm ${uri}`).realms[0]!,
      )
    : config.realms;
  return {
    ...config,
    dataDir: path.resolve(flags.data ?? config.dataDir),
    logLevel: flags.logLevel ?? config.logLevel,
    realms,
    listeners,
  };
}
