// Reading typed values out of WAMP Options/Details dicts, with the error a peer should see
// when a value has the wrong type.

import type { Dict } from '../wamp/messages.ts';
import { isId } from '../wamp/ids.ts';
import type { Payload } from '../wamp/raw-payload.ts';

export class OptionError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

export function optBool(options: Dict, key: string): boolean | OptionError {
  const v = options[key];
  if (v === undefined || v === null) return false;
  return typeof v === 'boolean' ? v : new OptionError(`option ${key} must be a bool`);
}

export function optEnum<T extends string>(
  options: Dict,
  key: string,
  allowed: readonly T[],
  fallback: T,
): T | OptionError {
  const v = options[key];
  if (v === undefined || v === null) return fallback;
  return typeof v === 'string' && (allowed as readonly string[]).includes(v)
    ? (v as T)
    : new OptionError(`option ${key} must be one of ${allowed.join(', ')}`);
}

export function optIds(options: Dict, key: string): number[] | undefined | OptionError {
  const v = options[key];
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) && v.every(isId) ? v : new OptionError(`option ${key} must be a list of session IDs`);
}

export function optStrings(options: Dict, key: string): string[] | undefined | OptionError {
  const v = options[key];
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) && v.every((x) => typeof x === 'string')
    ? v
    : new OptionError(`option ${key} must be a list of strings`);
}

export function optNonNegativeInt(options: Dict, key: string): number | OptionError {
  const v = options[key];
  if (v === undefined || v === null) return 0;
  return typeof v === 'number' && Number.isInteger(v) && v >= 0
    ? v
    : new OptionError(`option ${key} must be a non-negative integer`);
}

const PPT_KEYS = ['ppt_scheme', 'ppt_serializer', 'ppt_cipher', 'ppt_keyid'] as const;

/**
 * Payload Passthru Mode: the ppt_* options travel from CALL/PUBLISH/YIELD options to the
 * receiver's details unchanged, and the payload (one binary argument) is never looked into.
 */
export function pptOptions(options: Dict, payload: Payload): Dict | undefined | OptionError {
  if (options.ppt_scheme === undefined) return undefined;
  // Read only now: a payload passed through as bytes is decoded when read.
  const { args, kwargs } = payload;
  const out: Dict = {};
  for (const key of PPT_KEYS) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') return new OptionError(`option ${key} must be a string`);
    out[key] = v;
  }
  if (kwargs !== undefined || args === undefined || args.length !== 1) {
    return new OptionError(
      'a payload passthru message carries exactly one argument (the payload) and no keyword arguments',
    );
  }
  return out;
}
