// Input validation of the security records, as the store, the admin API and export/import take
// them. Rules that need the rest of the configuration (references, cycles, unique public keys)
// are checked by the store, and for a whole imported document by document.ts.

import { z } from 'zod';
import type { Action } from '../router/auth.ts';
import type { MatchPolicy } from '../router/uri-table.ts';
import { isValidUri } from '../wamp/uris.ts';
import { parseCidr } from './address.ts';
import { fieldPath, invalid, SecurityError } from './errors.ts';
import { fromBase64, parseTicketHash } from './hash.ts';
import { ACTIONS, MATCH_POLICIES, PASSWORD_METHODS } from './records.ts';
import {
  authid,
  authmethods,
  base64Bytes,
  description,
  expected,
  groupName,
  int,
  meta,
  principal,
  pubkey,
  realmUri,
  str,
  uniqueList,
} from './fields.ts';

/**
 * A record schema, built on its first use and kept: zod takes milliseconds to build one, too
 * slow for each record, and an idle router that never checks a record keeps none (fields.ts).
 */
function once<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}

const scramKeys = () => z.strictObject({ stored_key: base64Bytes(32, 32), server_key: base64Bytes(32, 32) });

const credentials = () =>
  z.strictObject({
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
        spec: scramKeys(),
        autobahn: scramKeys(),
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

const password = () =>
  str().min(8, { error: 'must be at least 8 characters' }).max(1024, { error: 'must be at most 1024 characters' });

const derivation = () => ({
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
});

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

export const realmCreateSchema = once(() =>
  z.strictObject({
    uri: realmUri(),
    description: description().default(''),
    // Required: which methods let clients in must be written down.
    authmethods: authmethods(),
    security_enabled: z.boolean(expected('expected true or false')).default(true),
    allow_connections: z.boolean(expected('expected true or false')).default(true),
  }),
);

export const realmUpdateSchema = once(() =>
  z.strictObject({
    description: description().optional(),
    authmethods: authmethods().optional(),
    security_enabled: z.boolean(expected('expected true or false')).optional(),
    allow_connections: z.boolean(expected('expected true or false')).optional(),
  }),
);

export const groupCreateSchema = once(() =>
  z.strictObject({
    name: groupName(),
    description: description().default(''),
    groups: uniqueList(groupName(), 'group').default([]),
    meta: meta().default({}),
  }),
);

export const groupUpdateSchema = once(() =>
  z.strictObject({
    description: description().optional(),
    groups: uniqueList(groupName(), 'group').optional(),
    meta: meta().optional(),
  }),
);

export const userCreateSchema = once(() =>
  z
    .strictObject({
      authid: authid(),
      groups: uniqueList(groupName(), 'group').default([]),
      role: groupName().optional(),
      pubkeys: uniqueList(pubkey(), 'public key').default([]),
      meta: meta().default({}),
      password: password().optional(),
      ...derivation(),
      credentials: credentials().optional(),
      disabled: z.boolean(expected('expected true or false')).optional(),
    })
    .check(passwordXorCredentials),
);

export const userUpdateSchema = once(() =>
  z
    .strictObject({
      groups: uniqueList(groupName(), 'group').optional(),
      /** null clears an explicit role. */
      role: groupName().nullable().optional(),
      pubkeys: uniqueList(pubkey(), 'public key').optional(),
      meta: meta().optional(),
      password: password().optional(),
      ...derivation(),
      credentials: credentials().optional(),
      disabled: z.boolean(expected('expected true or false')).optional(),
    })
    .check(passwordXorCredentials),
);

const grantUri = () => str().max(1024, { error: 'must be at most 1024 characters' });

/**
 * The largest grant or source id, given (imports keep ids) or assigned. SQLite numbers the next
 * one after the largest ever used, so one given at Number.MAX_SAFE_INTEGER made every later id
 * 2^53 and up: not exact in JavaScript, refused by get/delete, an export that no longer imported.
 * The store refuses to assign one beyond it either (grants.ts), so every id it holds imports.
 */
export const MAX_RECORD_ID = 2 ** 52;

export const grantCreateSchema = once(() =>
  z
    .strictObject({
      /** Only in imports: keeps ids stable across export and import. */
      id: int(1, MAX_RECORD_ID).optional(),
      permissions: uniqueList(
        z.enum(ACTIONS as [Action, ...Action[]], expected(`expected one of ${ACTIONS.join(', ')}`)),
        'permission',
      ).min(1, { error: 'must list at least one permission' }),
      uri: grantUri(),
      match: z
        .enum(MATCH_POLICIES as [MatchPolicy, ...MatchPolicy[]], expected('expected "exact", "prefix" or "wildcard"'))
        .default('exact'),
      to: uniqueList(principal(), 'principal').min(1, { error: 'must name at least one principal' }),
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
    }),
);

export const sourceCreateSchema = once(() =>
  z
    .strictObject({
      id: int(1, MAX_RECORD_ID).optional(),
      cidr: str().refine((s) => parseCidr(s) !== undefined, {
        error: 'expected "any", "unix" or a CIDR block such as "10.0.0.0/8" or "::1/128"',
      }),
      authmethods: authmethods().min(1, { error: 'must list at least one authmethod' }),
      to: uniqueList(principal(), 'principal').min(1, { error: 'must name at least one principal' }),
      description: description().default(''),
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
    }),
);

export const realmDocumentSchema = once(() =>
  realmCreateSchema().extend({
    groups: z.array(groupCreateSchema()).default([]),
    users: z.array(userCreateSchema()).default([]),
    grants: z.array(grantCreateSchema()).default([]),
    sources: z.array(sourceCreateSchema()).default([]),
    // Checked one by one in document.ts (gateway/spec.ts), with the field named there.
    apis: z.array(z.record(z.string(), z.unknown())).default([]),
  }),
);

export const documentSchema = once(() =>
  z.strictObject({
    version: z.literal(1, expected('expected 1')),
    realms: z.array(realmDocumentSchema(), expected('expected a list')),
  }),
);

export type RealmCreate = z.output<ReturnType<typeof realmCreateSchema>>;
export type RealmUpdate = z.output<ReturnType<typeof realmUpdateSchema>>;
export type GroupCreate = z.output<ReturnType<typeof groupCreateSchema>>;
export type GroupUpdate = z.output<ReturnType<typeof groupUpdateSchema>>;
export type UserCreate = z.output<ReturnType<typeof userCreateSchema>>;
export type UserUpdate = z.output<ReturnType<typeof userUpdateSchema>>;
export type GrantCreate = z.output<ReturnType<typeof grantCreateSchema>>;
export type SourceCreate = z.output<ReturnType<typeof sourceCreateSchema>>;
export type DocumentInput = z.output<ReturnType<typeof documentSchema>>;

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
