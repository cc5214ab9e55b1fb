// `wampmesh realm|user|group|grant|source|api|security|mesh|bridge ...`: the admin API from the shell.
// Each subcommand maps onto one admin procedure (src/security/admin.ts); flags build its
// argument object, and the store validates it, so errors name the same fields everywhere.

import fs from 'node:fs';
import type { parseArgs } from 'node:util';
import { AdminError, connectAdmin } from './admin-client.ts';
import { findDataDir } from './data-dir.ts';
import { MESH_OFF } from '../security/admin.ts';
import { UsageError } from './errors.ts';
import { parseOnce } from './single-values.ts';
import { aliases, commands, type Flag, type Verb } from './admin-commands.ts';

export function adminHelp(entity?: string, verbName?: string): string {
  if (entity === undefined) {
    return [
      'Administration (talks to the running router over DATA/wampmesh.sock, or works on the data folder when none runs):',
      '',
      ...Object.entries(commands).flatMap(([e, verbs]) =>
        Object.entries(verbs).map(([v, d]) => `  wampmesh ${e} ${v} ${d.positionals.join(' ')}`.padEnd(52) + d.summary),
      ),
      '',
      'Common options: --data DIR (default: ./data if it holds a database, else the dataDir of --config FILE or $WAMPMESH_CONFIG or /etc/wampmesh/config.json, else /var/lib/wampmesh), --init (create the database if DIR has none), --force (allow a change that takes away a way into the admin realm), --json OBJECT (fields for create/update), -h/--help',
      '',
      'Recovery with the router stopped: wampmesh admin reset --data DIR (see wampmesh admin reset --help)',
      '',
    ].join('\n');
  }
  const verbs = commands[entity]!;
  const lines =
    verbName === undefined
      ? Object.entries(verbs).map(
          ([v, d]) => `  wampmesh ${entity} ${v} ${d.positionals.join(' ')}`.padEnd(52) + d.summary,
        )
      : [
          `  wampmesh ${entity} ${verbName} ${verbs[verbName]!.positionals.join(' ')}`,
          `  ${verbs[verbName]!.summary}`,
          '',
          ...Object.entries(verbs[verbName]!.flags ?? {}).map(([name, flag]) => `  --${name}`.padEnd(20) + flag.help),
        ];
  return [
    `Usage:`,
    ...lines,
    '',
    'Options: --data DIR (default: ./data if it holds a database, else the dataDir of --config FILE or $WAMPMESH_CONFIG or /etc/wampmesh/config.json, else /var/lib/wampmesh), --init (create the database if DIR has none), --force (allow a change that takes away a way into the admin realm), --json OBJECT (raw fields for create/update), -h/--help',
    '',
  ].join('\n');
}

interface Parsed {
  verb: Verb;
  verbName: string;
  positionals: string[];
  object: Record<string, unknown> | undefined;
  /** --data; without it, findDataDir decides. */
  data: string | undefined;
  /** --config: the service's config file whose dataDir is used when ./data has no database. */
  config: string | undefined;
  out?: string;
  help: boolean;
  /** Create the database when the data folder has none (else a mistyped --data is refused). */
  init: boolean;
  /** Allow a change that takes away a way into the admin realm (never the last one). */
  force: boolean;
}

export function parseAdmin(argv: readonly string[]): Parsed | { help: string } {
  const [entity, rawVerb, ...rest] = argv;
  if (entity === undefined || !(entity in commands)) throw new UsageError(`unknown command '${entity ?? ''}'`);
  const verbs = commands[entity]!;
  if (rawVerb === undefined || rawVerb === '--help' || rawVerb === '-h') return { help: adminHelp(entity) };
  // A verb of its own wins over an alias (`mesh remove` is not a delete).
  const verbName = rawVerb in verbs ? rawVerb : (aliases[rawVerb] ?? rawVerb);
  const verb = verbs[verbName];
  if (verb === undefined)
    throw new UsageError(`unknown subcommand '${entity} ${rawVerb}' (one of: ${Object.keys(verbs).join(', ')})`);
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    data: { type: 'string' },
    config: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    init: { type: 'boolean' },
    force: { type: 'boolean' },
  };
  for (const [name, flag] of Object.entries(verb.flags ?? {}))
    options[name] = { type: 'string', ...(flag.kind === 'list' && { multiple: true }) };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseOnce({ args: [...rest], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${entity} ${verbName}: ${(e as Error).message.split('\n')[0]}`);
  }
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (values.help === true) return { help: adminHelp(entity, verbName) };
  if (parsed.positionals.length !== verb.positionals.length) {
    throw new UsageError(
      `${entity} ${verbName}: expected ${verb.positionals.length === 0 ? 'no arguments' : verb.positionals.join(' ')}, ` +
        `got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.join(' ')}`,
    );
  }
  let object: Record<string, unknown> | undefined;
  if (typeof values.json === 'string') {
    try {
      const v: unknown = JSON.parse(values.json);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      object = v as Record<string, unknown>;
    } catch (e) {
      throw new UsageError(`--json: expected a JSON object (${(e as Error).message})`);
    }
  }
  for (const [name, flag] of Object.entries(verb.flags ?? {})) {
    const raw = values[name];
    if (raw === undefined || flag.field === '') continue;
    object ??= {};
    object[flag.field] = convert(name, flag, raw);
  }
  const positionals = [...parsed.positionals];
  if (verb.intoObject !== undefined) {
    object ??= {};
    object[verb.intoObject] = positionals.pop();
  }
  if ((entity === 'security' && verbName === 'import') || (entity === 'api' && verb.positionals[0] === 'FILE')) {
    const file = positionals.pop()!;
    try {
      object = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new UsageError(`${entity} ${verbName}: cannot read ${file}: ${(e as Error).message}`);
    }
  }
  return {
    verb,
    verbName,
    positionals,
    object,
    data: typeof values.data === 'string' ? values.data : undefined,
    config: typeof values.config === 'string' ? values.config : undefined,
    help: false,
    init: values.init === true,
    force: values.force === true,
    ...(typeof values.out === 'string' && { out: values.out }),
  };
}

function convert(name: string, flag: Flag, raw: string | string[] | boolean): unknown {
  switch (flag.kind) {
    case 'string':
      return raw;
    case 'list':
      return raw;
    case 'csv':
      return String(raw)
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    case 'bool':
      if (raw === 'on' || raw === 'true') return true;
      if (raw === 'off' || raw === 'false') return false;
      throw new UsageError(`--${name}: expected on or off, got '${String(raw)}'`);
    case 'json':
      try {
        return JSON.parse(String(raw));
      } catch (e) {
        throw new UsageError(`--${name}: expected JSON (${(e as Error).message})`);
      }
  }
}

/** `mesh status` on a router without a mesh: distinct from 1 so a script can tell it from a failure. */
export const EXIT_MESH_OFF = 3;

/** Runs one admin command; returns the exit status. */
export async function runAdmin(
  argv: readonly string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const parsed = parseAdmin(argv);
  if ('help' in parsed && typeof parsed.help === 'string') {
    out(parsed.help);
    return 0;
  }
  const p = parsed as Parsed;
  if (p.data === '') throw new UsageError('--data: expected a directory path');
  if (p.config === '') throw new UsageError('--config: expected a file path');
  if (p.data !== undefined && p.config !== undefined) throw new UsageError('give --data or --config, not both');
  const data = p.data ?? findDataDir({ env: process.env, ...(p.config !== undefined && { configFile: p.config }) });
  const connection = await connectAdmin(data, { init: p.init });
  try {
    if (p.verb.online === true && connection.mode === 'offline') {
      err(`wampmesh: ${argv[0]} ${p.verbName} needs a running router on ${data}\n`);
      return 1;
    }
    const args: unknown[] = p.positionals.map((v, i) => (p.verb.positionals[i] === 'ID' ? Number(v) : v));
    if (p.positionals.some((v, i) => p.verb.positionals[i] === 'ID' && !/^[1-9]\d*$/.test(v)))
      throw new UsageError(`${argv[0]} ${p.verbName}: ID must be a positive integer`);
    if (p.object !== undefined) args.push(p.object);
    const result = await connection.call(p.verb.procedure, args, p.force ? { force: true } : {});
    const text = result === undefined ? '' : `${JSON.stringify(result, null, 2)}\n`;
    if (p.out !== undefined) fs.writeFileSync(p.out, text, { mode: 0o600 });
    else out(text);
    return 0;
  } catch (e) {
    // Not a failure of the command: the router answered, and its answer is that there is no mesh.
    if (e instanceof AdminError && e.uri === MESH_OFF) {
      err(`wampmesh: ${e.message}\n`);
      return EXIT_MESH_OFF;
    }
    if (e instanceof AdminError) {
      err(`wampmesh: ${e.message} (${e.uri}${e.field ? `, field ${e.field}` : ''})\n`);
      return 1;
    }
    throw e;
  } finally {
    await connection.close();
  }
}
