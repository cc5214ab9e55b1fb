// Subscriber black- and whitelisting (spec "Subscriber Black- and Whitelisting"): which
// subscribers of a topic one publication reaches.

import type { Dict } from '../wamp/messages.ts';
import { OptionError, optIds, optStrings } from './options.ts';
import type { Target } from './target.ts';

/** Subscriber black/whitelisting of one publication (spec "Subscriber Black- and Whitelisting"). */
export interface Filter {
  exclude?: number[];
  exclude_authid?: string[];
  exclude_authrole?: string[];
  eligible?: number[];
  eligible_authid?: string[];
  eligible_authrole?: string[];
}
const filterKeys = [
  'exclude',
  'exclude_authid',
  'exclude_authrole',
  'eligible',
  'eligible_authid',
  'eligible_authrole',
] as const;

export function readFilter(options: Dict): Filter | undefined | OptionError {
  let filter: Filter | undefined;
  for (const key of filterKeys) {
    const v = key === 'exclude' || key === 'eligible' ? optIds(options, key) : optStrings(options, key);
    if (v instanceof OptionError) return v;
    if (v !== undefined) (filter ??= {})[key] = v as never;
  }
  return filter;
}

export function eligible(f: Filter, s: Target): boolean {
  if (f.exclude?.includes(s.id) || f.exclude_authid?.includes(s.authid) || f.exclude_authrole?.includes(s.authrole))
    return false;
  if (f.eligible !== undefined && !f.eligible.includes(s.id)) return false;
  if (f.eligible_authid !== undefined && !f.eligible_authid.includes(s.authid)) return false;
  if (f.eligible_authrole !== undefined && !f.eligible_authrole.includes(s.authrole)) return false;
  return true;
}
