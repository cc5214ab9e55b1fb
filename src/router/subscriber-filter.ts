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

/** Whether subscriber `s` gets the publication: for one subscriber (a retained or stored event). */
export const eligible = (f: Filter, s: Target): boolean => eligibleFor(f)(s);

/**
 * Whether a subscriber gets the publication, for every subscriber of it: the lists become sets
 * once, so a publication costs its subscribers plus its lists, not their product, which a
 * publisher could make as large as a message allows.
 */
export function eligibleFor(f: Filter): (s: Target) => boolean {
  const exclude = setOf(f.exclude);
  const excludeAuthid = setOf(f.exclude_authid);
  const excludeAuthrole = setOf(f.exclude_authrole);
  const only = setOf(f.eligible);
  const onlyAuthid = setOf(f.eligible_authid);
  const onlyAuthrole = setOf(f.eligible_authrole);
  return (s) =>
    !(exclude?.has(s.id) || excludeAuthid?.has(s.authid) || excludeAuthrole?.has(s.authrole)) &&
    (only === undefined || only.has(s.id)) &&
    (onlyAuthid === undefined || onlyAuthid.has(s.authid)) &&
    (onlyAuthrole === undefined || onlyAuthrole.has(s.authrole));
}

const setOf = <T>(list: readonly T[] | undefined): Set<T> | undefined =>
  list === undefined ? undefined : new Set(list);
