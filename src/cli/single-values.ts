// node:util parseArgs keeps the last value of an option given twice, so `--config bad.json
// --config good.json` silently used good.json and `admin reset --data A --data B` reset B. A
// repeated option that takes one value is a command-line mistake (exit 2), like any other:
// every command parses with parseOnce, which counts the options parseArgs saw.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

/** parseArgs, refusing a string option without `multiple` given more than once. */
export function parseOnce<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  const result = parseArgs({ ...config, tokens: true });
  const seen = new Set<string>();
  for (const token of result.tokens ?? []) {
    if (token.kind !== 'option') continue;
    const option = config.options?.[token.name];
    if (option === undefined || option.type !== 'string' || option.multiple === true) continue;
    if (seen.has(token.name)) throw new UsageError(`--${token.name} given more than once: it takes one value`);
    seen.add(token.name);
  }
  return result as ReturnType<typeof parseArgs<T>>;
}
