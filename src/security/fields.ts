// Field schemas the security records are built from: names, authids, principals, URIs,
// metadata and key material, each refused with a message naming what was expected. Each is
// made by a function when a record is checked: schemas kept at module level would stay in the
// heap for the router's life (BENCHMARKS.md, start-up and idle footprint).

import { z } from 'zod';
import { isValidUri } from '../wamp/uris.ts';
import { fromBase64 } from './hash.ts';
import { AUTH_METHODS, type AuthMethod, type Dict } from './records.ts';

/** "required" when the field is missing, else what was expected. */
export const expected = (what: string) => ({
  error: (iss: { input?: unknown }) => (iss.input === undefined ? 'required' : what),
});
// Strings the store could not give back as they came are refused on the way in:
// - a lone surrogate (only JSON can send one) is stored as U+FFFD by SQLite, so a group or user
//   was created under another name than the one accepted and returned;
// - a string that starts with NUL reaches JSON peers as bytes (WAMP's binary convention), so the
//   admin CLI (JSON) exported it as {"type":"Buffer",...}, which the import refused or kept as an
//   object (only MsgPack and CBOR can send one).
const WELL_FORMED = 'must be valid Unicode (no lone surrogates)';
const NOT_BINARY = 'must not start with a NUL character (JSON peers would receive bytes)';
const notBinary = (s: string) => !s.startsWith('\0');
export const str = () =>
  z
    .string(expected('expected a string'))
    .refine((s) => s.isWellFormed(), { error: WELL_FORMED, abort: true })
    .refine(notBinary, { error: NOT_BINARY, abort: true });

export const uniqueList = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item).check((ctx) => {
    const seen = new Set<string>();
    ctx.value.forEach((v, i) => {
      const key = JSON.stringify(v);
      if (seen.has(key)) ctx.issues.push({ code: 'custom', message: `duplicate ${what} ${key}`, path: [i], input: v });
      seen.add(key);
    });
  });

const noControl = (s: string) => !/[\u0000-\u001f\u007f]/.test(s);

export const realmUri = () =>
  str().refine((s) => isValidUri(s), {
    error: 'expected a WAMP URI: dot-separated components without spaces or "#", e.g. "com.example"',
  });

const authmethod = () =>
  str()
    // Autobahn and Crossbar.io call WAMP-SCRAM "scram".
    .transform((s) => (s === 'scram' ? 'wamp-scram' : s))
    .refine(
      (s): s is AuthMethod => (AUTH_METHODS as readonly string[]).includes(s),
      expected(`expected one of ${AUTH_METHODS.join(', ')}`),
    )
    .transform((s) => s as AuthMethod);

export const authmethods = () => uniqueList(authmethod(), 'authmethod');

export const description = () => str().max(1000, { error: 'must be at most 1000 characters' });

function isJson(v: unknown, depth = 0): boolean {
  if (depth > 32) return false;
  if (v === null || typeof v === 'boolean') return true;
  if (typeof v === 'string') return v.isWellFormed() && notBinary(v);
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => isJson(x, depth + 1));
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.entries(v as Dict).every(([k, x]) => k.isWellFormed() && isJson(x, depth + 1));
  }
  return false;
}

export const meta = () =>
  z
    .record(z.string(), z.unknown(), expected('expected an object'))
    // abort: zod runs later checks after a failed one, and JSON.stringify throws on some of what
    // isJson refuses (a BigInt from a wide MsgPack/CBOR/JSON integer): that was an internal error.
    .refine((m) => isJson(m), {
      error: 'must hold only JSON values (strings, numbers, booleans, null, lists, objects)',
      abort: true,
    })
    .refine((m) => JSON.stringify(m).length <= 65536, { error: 'must be at most 64 KiB as JSON' });

export const groupName = () =>
  str()
    .min(1, { error: 'must not be empty' })
    .max(128, { error: 'must be at most 128 characters' })
    .refine((s) => !/\s/.test(s) && noControl(s), { error: 'must not contain whitespace' })
    // "all" and "anonymous" name principals; "anonymous" is also the authrole of anonymous sessions.
    .refine((s) => s !== 'all' && s !== 'anonymous', { error: '"all" and "anonymous" are reserved' });

export const authid = () =>
  str()
    .min(1, { error: 'must not be empty' })
    .max(255, { error: 'must be at most 255 characters' })
    .refine(noControl, { error: 'must not contain control characters' });

export const pubkey = () =>
  str()
    .regex(/^[0-9a-fA-F]{64}$/, { error: 'expected an Ed25519 public key: 64 hex digits' })
    .transform((s) => s.toLowerCase());

export const principal = () =>
  str().refine(
    (s) =>
      s === 'all' ||
      s === 'anonymous' ||
      (s.startsWith('user:') && s.length > 5) ||
      (s.startsWith('group:') && s.length > 6),
    { error: 'expected "all", "anonymous", "user:<authid>" or "group:<name>"' },
  );

export const int = (min: number, max: number) => {
  const error = `expected an integer ${min}..${max}`;
  return z.int(expected(error)).min(min, { error }).max(max, { error });
};

export const base64Bytes = (min: number, max: number) =>
  str().refine(
    (s) => {
      const b = fromBase64(s);
      return b !== undefined && b.length >= min && b.length <= max;
    },
    { error: min === max ? `expected base64 of ${min} bytes` : `expected base64 of ${min}..${max} bytes` },
  );
