// The security model (after Bondy's realm spec) and the JSON shapes the store, the admin API
// and export/import share. Input validation is here; rules that need the rest of the
// configuration (references, cycles, unique public keys) are checked by the store, and for a
// whole imported document by document.ts.

import { z } from 'zod';
import type { Action } from '../router/auth.ts';
import type { MatchPolicy } from '../router/uri-table.ts';
import { isValidUri } from '../wamp/uris.ts';
import { parseCidr } from './address.ts';
import { fieldPath, invalid, SecurityError } from './errors.ts';
import { fromBase64, parseTicketHash, type ScramCredential, type WampcraCredential } from './hash.ts';

// oauth2: an access token of the realm's OAuth2 token endpoint (src/oauth2/) as the secret.
// tls: a client certificate the listener verified; its subject CN is the authid (no credential
// is stored: the listener's CA vouches, the realm and its sources say who may use it).
export const AUTH_METHODS = [
  'anonymous',
  'ticket',
  'wampcra',
  'cryptosign',
  'wamp-scram',
  'trust',
  'oauth2',
  'tls',
] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];
/** Methods whose credential is derived from a password. */
export const PASSWORD_METHODS = ['ticket', 'wampcra', 'wamp-scram'] as const;
export type PasswordMethod = (typeof PASSWORD_METHODS)[number];
export const ACTIONS: readonly Action[] = ['call', 'register', 'subscribe', 'publish'];
export const MATCH_POLICIES: readonly MatchPolicy[] = ['exact', 'prefix', 'wildcard'];

/**
 * Who a grant or a source applies to: "all" (every session of the realm, anonymous ones
 * included), "anonymous" (sessions that joined with authmethod anonymous), "user:<authid>",
 * or "group:<name>" (the group's members, and members of groups nested in it).
 */
export type Principal = string;

export type Dict = Record<string, unknown>;

export interface RealmRecord {
  readonly uri: string;
  readonly description: string;
  /** The methods this realm accepts at all; sources narrow them down per address and user. */
  readonly authmethods: readonly AuthMethod[];
  /** false: every action is allowed (authentication still applies). */
  readonly security_enabled: boolean;
  /** false: new sessions are refused; established ones stay. */
  readonly allow_connections: boolean;
}

export interface GroupRecord {
  readonly name: string;
  readonly description: string;
  /** Groups this group is a member of: their grants apply to its members too. */
  readonly groups: readonly string[];
  readonly meta: Dict;
}

export interface Credentials {
  readonly ticket?: { readonly hash: string };
  readonly wampcra?: WampcraCredential;
  readonly 'wamp-scram'?: ScramCredential;
}

/** A user as stored and exported: only salted hashes and derived keys, never a password. */
export interface UserRecord {
  readonly authid: string;
  readonly groups: readonly string[];
  /** The authrole; must be one of the user's groups. Without it: the first group, else "user". */
  readonly role?: string;
  /** Ed25519 public keys (hex) for cryptosign. */
  readonly pubkeys: readonly string[];
  readonly meta: Dict;
  readonly credentials: Credentials;
  /** Refused at login, its sessions ended. Absent when false, so records of enabled users stay as they were. */
  readonly disabled?: boolean;
}

/** A user as get/list show it: which methods it has credentials for, no key material. */
export interface UserView {
  readonly authid: string;
  readonly groups: readonly string[];
  readonly role?: string;
  /** The authrole its sessions get. */
  readonly authrole: string;
  readonly pubkeys: readonly string[];
  readonly meta: Dict;
  readonly authmethods: readonly string[];
  readonly disabled?: boolean;
}

export interface GrantRecord {
  readonly id: number;
  readonly permissions: readonly Action[];
  readonly uri: string;
  readonly match: MatchPolicy;
  readonly to: readonly Principal[];
}

export interface SourceRecord {
  readonly id: number;
  /** "any", "unix", or a CIDR block ("127.0.0.0/8", "::1/128"). */
  readonly cidr: string;
  readonly authmethods: readonly AuthMethod[];
  readonly to: readonly Principal[];
  readonly description: string;
}

export interface RealmDocument extends RealmRecord {
  readonly groups: readonly GroupRecord[];
  readonly users: readonly UserRecord[];
  readonly grants: readonly GrantRecord[];
  readonly sources: readonly SourceRecord[];
  /** HTTP API gateway specs (src/gateway/spec.ts; checked by document.ts). Exported only when there are any. */
  readonly apis?: readonly Record<string, unknown>[];
}

/** The whole configuration, as wampmesh.security.export gives it and import takes it. */
export interface SecurityDocument {
  readonly version: 1;
  readonly realms: readonly RealmDocument[];
}

export const DEFAULT_ROLE = 'user';

export function authroleOf(user: { groups: readonly string[]; role?: string | undefined }): string {
  return user.role ?? user.groups[0] ?? DEFAULT_ROLE;
}

// ---------------------------------------------------------------------------------------------
// Schemas

/** "required" when the field is missing, else what was expected. */
const expected = (what: string) => ({
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
const str = () =>
  z
    .string(expected('expected a string'))
    .refine((s) => s.isWellFormed(), { error: WELL_FORMED, abort: true })
    .refine(notBinary, { error: NOT_BINARY, abort: true });

const uniqueList = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item).check((ctx) => {
    const seen = new Set<string>();
    ctx.value.forEach((v, i) => {
      const key = JSON.stringify(v);
      if (seen.has(key)) ctx.issues.push({ code: 'custom', message: `duplicate ${what} ${key}`, path: [i], input: v });
      seen.add(key);
    });
  });

const noControl = (s: string) => !/[\u0000-\u001f\u007f]/.test(s);

const realmUri = str().refine((s) => isValidUri(s), {
  error: 'expected a WAMP URI: dot-separated components without spaces or "#", e.g. "com.example"',
});

const authmethod = str()
  // Autobahn and Crossbar.io call WAMP-SCRAM "scram".
  .transform((s) => (s === 'scram' ? 'wamp-scram' : s))
  .refine(
    (s): s is AuthMethod => (AUTH_METHODS as readonly string[]).includes(s),
    expected(`expected one of ${AUTH_METHODS.join(', ')}`),
  )
  .transform((s) => s as AuthMethod);

const authmethods = uniqueList(authmethod, 'authmethod');

const description = str().max(1000, { error: 'must be at most 1000 characters' });

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

const meta = z
  .record(z.string(), z.unknown(), expected('expected an object'))
  // abort: zod runs later checks after a failed one, and JSON.stringify throws on some of what
  // isJson refuses (a BigInt from a wide MsgPack/CBOR/JSON integer): that was an internal error.
  .refine((m) => isJson(m), {
    error: 'must hold only JSON values (strings, numbers, booleans, null, lists, objects)',
    abort: true,
  })
  .refine((m) => JSON.stringify(m).length <= 65536, { error: 'must be at most 64 KiB as JSON' });

export const groupName = str()
  .min(1, { error: 'must not be empty' })
  .max(128, { error: 'must be at most 128 characters' })
  .refine((s) => !/\s/.test(s) && noControl(s), { error: 'must not contain whitespace' })
  // "all" and "anonymous" name principals; "anonymous" is also the authrole of anonymous sessions.
  .refine((s) => s !== 'all' && s !== 'anonymous', { error: '"all" and "anonymous" are reserved' });

export const authid = str()
  .min(1, { error: 'must not be empty' })
  .max(255, { error: 'must be at most 255 characters' })
  .refine(noControl, { error: 'must not contain control characters' });

const pubkey = str()
  .regex(/^[0-9a-fA-F]{64}$/, { error: 'expected an Ed25519 public key: 64 hex digits' })
  .transform((s) => s.toLowerCase());

export const principal = str().refine(
  (s) =>
    s === 'all' ||
    s === 'anonymous' ||
    (s.startsWith('user:') && s.length > 5) ||
    (s.startsWith('group:') && s.length > 6),
  { error: 'expected "all", "anonymous", "user:<authid>" or "group:<name>"' },
);

const int = (min: number, max: number) => {
  const error = `expected an integer ${min}..${max}`;
  return z.int(expected(error)).min(min, { error }).max(max, { error });
};

const base64Bytes = (min: number, max: number) =>
  str().refine(
    (s) => {
      const b = fromBase64(s);
      return b !== undefined && b.length >= min && b.length <= max;
    },
    { error: min === max ? `expected base64 of ${min} bytes` : `expected base64 of ${min}..${max} bytes` },
  );

const scramKeys = z.strictObject({ stored_key: base64Bytes(32, 32), server_key: base64Bytes(32, 32) });

const credentials = z.strictObject({
  ticket: z
    .strictObject({
      hash: str().refine((s) => parseTicketHash(s) !== undefined, {
        error: 'expected an argon2id or pbkdf2-sha256 PHC hash with sane parameters',
      }),
    })
    .optional(),
  wampcra: z
    .strictObject({
      salt: str().min(1).max(256),
      iterations: int(1, 10_000_000),
      keylen: int(16, 64),
      key: base64Bytes(16, 64),
      // `?.`: zod runs this check after a failed one too, and a key that is not base64 (refused
      // above) made it throw (an internal error).
    })
    .refine((c) => fromBase64(c.key)?.length === c.keylen, { error: 'key must be keylen bytes', path: ['key'] })
    .optional(),
  'wamp-scram': z
    .strictObject({
      kdf: z.enum(['argon2id', 'pbkdf2'], expected('expected "argon2id" or "pbkdf2"')),
      salt: base64Bytes(8, 64),
      iterations: int(1, 10_000_000),
      memory: int(8, 1 << 21).optional(),
      spec: scramKeys,
      autobahn: scramKeys,
    })
    .check((ctx) => {
      const c = ctx.value;
      if (c.kdf === 'argon2id' && c.memory === undefined)
        ctx.issues.push({ code: 'custom', message: 'required for argon2id', path: ['memory'], input: c });
      if (c.kdf === 'pbkdf2' && c.memory !== undefined)
        ctx.issues.push({ code: 'custom', message: 'only for argon2id', path: ['memory'], input: c });
      if (c.kdf === 'argon2id' && c.iterations > 64)
        ctx.issues.push({
          code: 'custom',
          message: 'expected at most 64 for argon2id',
          path: ['iterations'],
          input: c,
        });
    })
    .optional(),
});

const password = str()
  .min(8, { error: 'must be at least 8 characters' })
  .max(1024, { error: 'must be at most 1024 characters' });

const derivation = {
  password_methods: uniqueList(
    z.enum(PASSWORD_METHODS, expected(`expected one of ${PASSWORD_METHODS.join(', ')}`)),
    'method',
  ).optional(),
  wampcra: z.strictObject({ iterations: int(1000, 10_000_000).optional(), keylen: int(16, 64).optional() }).optional(),
  scram: z
    .strictObject({
      kdf: z.enum(['argon2id', 'pbkdf2'], expected('expected "argon2id" or "pbkdf2"')).optional(),
      iterations: int(1, 10_000_000).optional(),
      memory: int(1024, 1 << 21).optional(),
    })
    .optional(),
};

function passwordXorCredentials(ctx: {
  value: { password?: string | undefined; credentials?: unknown };
  issues: z.core.$ZodRawIssue[];
}) {
  if (ctx.value.password !== undefined && ctx.value.credentials !== undefined) {
    ctx.issues.push({
      code: 'custom',
      message: 'give either a password or derived credentials, not both',
      path: ['password'],
      input: ctx.value,
    });
  }
}

export const realmCreateSchema = z.strictObject({
  uri: realmUri,
  description: description.default(''),
  // Required: which methods let clients in must be written down.
  authmethods,
  security_enabled: z.boolean(expected('expected true or false')).default(true),
  allow_connections: z.boolean(expected('expected true or false')).default(true),
});

export const realmUpdateSchema = z.strictObject({
  description: description.optional(),
  authmethods: authmethods.optional(),
  security_enabled: z.boolean(expected('expected true or false')).optional(),
  allow_connections: z.boolean(expected('expected true or false')).optional(),
});

export const groupCreateSchema = z.strictObject({
  name: groupName,
  description: description.default(''),
  groups: uniqueList(groupName, 'group').default([]),
  meta: meta.default({}),
});

export const groupUpdateSchema = z.strictObject({
  description: description.optional(),
  groups: uniqueList(groupName, 'group').optional(),
  meta: meta.optional(),
});

export const userCreateSchema = z
  .strictObject({
    authid,
    groups: uniqueList(groupName, 'group').default([]),
    role: groupName.optional(),
    pubkeys: uniqueList(pubkey, 'public key').default([]),
    meta: meta.default({}),
    password: password.optional(),
    ...derivation,
    credentials: credentials.optional(),
    disabled: z.boolean(expected('expected true or false')).optional(),
  })
  .check(passwordXorCredentials);

export const userUpdateSchema = z
  .strictObject({
    groups: uniqueList(groupName, 'group').optional(),
    /** null clears an explicit role. */
    role: groupName.nullable().optional(),
    pubkeys: uniqueList(pubkey, 'public key').optional(),
    meta: meta.optional(),
    password: password.optional(),
    ...derivation,
    credentials: credentials.optional(),
    disabled: z.boolean(expected('expected true or false')).optional(),
  })
  .check(passwordXorCredentials);

const grantUri = str().max(1024, { error: 'must be at most 1024 characters' });

/**
 * The largest grant or source id, given (imports keep ids) or assigned. SQLite numbers the next
 * one after the largest ever used, so one given at Number.MAX_SAFE_INTEGER made every later id
 * 2^53 and up: not exact in JavaScript, refused by get/delete, an export that no longer imported.
 * The store refuses to assign one beyond it either (store.ts), so every id it holds imports.
 */
export const MAX_RECORD_ID = 2 ** 52;

export const grantCreateSchema = z
  .strictObject({
    /** Only in imports: keeps ids stable across export and import. */
    id: int(1, MAX_RECORD_ID).optional(),
    permissions: uniqueList(
      z.enum(ACTIONS as [Action, ...Action[]], expected(`expected one of ${ACTIONS.join(', ')}`)),
      'permission',
    ).min(1, { error: 'must list at least one permission' }),
    uri: grantUri,
    match: z
      .enum(MATCH_POLICIES as [MatchPolicy, ...MatchPolicy[]], expected('expected "exact", "prefix" or "wildcard"'))
      .default('exact'),
    to: uniqueList(principal, 'principal').min(1, { error: 'must name at least one principal' }),
  })
  .check((ctx) => {
    const { uri, match } = ctx.value;
    if (!isValidUri(uri, 'loose', match !== 'exact')) {
      ctx.issues.push({
        code: 'custom',
        message: match === 'exact' ? 'expected a WAMP URI' : `expected a WAMP URI pattern for match "${match}"`,
        path: ['uri'],
        input: uri,
      });
    }
  });

export const sourceCreateSchema = z
  .strictObject({
    id: int(1, MAX_RECORD_ID).optional(),
    cidr: str().refine((s) => parseCidr(s) !== undefined, {
      error: 'expected "any", "unix" or a CIDR block such as "10.0.0.0/8" or "::1/128"',
    }),
    authmethods: authmethods.min(1, { error: 'must list at least one authmethod' }),
    to: uniqueList(principal, 'principal').min(1, { error: 'must name at least one principal' }),
    description: description.default(''),
  })
  .check((ctx) => {
    const { cidr, authmethods: methods } = ctx.value;
    // Trust skips the secret: from everywhere it would let anyone be anyone.
    if (methods.includes('trust') && ['any', '0.0.0.0/0', '::/0'].includes(cidr)) {
      ctx.issues.push({
        code: 'custom',
        message: 'trust from every address would let anyone log in as anyone; narrow the cidr',
        path: ['authmethods'],
        input: methods,
      });
    }
  });

export const realmDocumentSchema = realmCreateSchema.extend({
  groups: z.array(groupCreateSchema).default([]),
  users: z.array(userCreateSchema).default([]),
  grants: z.array(grantCreateSchema).default([]),
  sources: z.array(sourceCreateSchema).default([]),
  // Checked one by one in document.ts (gateway/spec.ts), with the field named there.
  apis: z.array(z.record(z.string(), z.unknown())).default([]),
});

export const documentSchema = z.strictObject({
  version: z.literal(1, expected('expected 1')),
  realms: z.array(realmDocumentSchema, expected('expected a list')),
});

export type RealmCreate = z.output<typeof realmCreateSchema>;
export type RealmUpdate = z.output<typeof realmUpdateSchema>;
export type GroupCreate = z.output<typeof groupCreateSchema>;
export type GroupUpdate = z.output<typeof groupUpdateSchema>;
export type UserCreate = z.output<typeof userCreateSchema>;
export type UserUpdate = z.output<typeof userUpdateSchema>;
export type GrantCreate = z.output<typeof grantCreateSchema>;
export type SourceCreate = z.output<typeof sourceCreateSchema>;
export type DocumentInput = z.output<typeof documentSchema>;

/** Validates `value` against `schema`; the first issue becomes a SecurityError naming its field under `prefix`. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(value, {
    error: (iss) => (iss.code === 'invalid_type' && iss.input === undefined ? 'required' : undefined),
  });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  let segments: PropertyKey[] = [...issue.path];
  let problem = issue.message;
  if (issue.code === 'unrecognized_keys') {
    segments = [...segments, issue.keys[0]!];
    problem = 'unknown field';
  }
  const field = fieldPath(segments);
  throw invalid(
    prefix === '' ? field : field === '' ? prefix : field.startsWith('[') ? prefix + field : `${prefix}.${field}`,
    problem,
  );
}

export function isSecurityError(err: unknown): err is SecurityError {
  return err instanceof SecurityError;
}
