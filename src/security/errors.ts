// Errors of the security store and its admin API. Each carries the WAMP error URI the admin API
// answers with and the offending field, written as in the JSON the caller sent
// ("realms[0].users[2].password"), so a rejected import says exactly what to fix.

export const SecurityErrorUri = {
  /** A value is malformed or breaks a rule (too short, unknown method, cycle...). */
  INVALID_ARGUMENT: 'wamp.error.invalid_argument',
  /** The realm, user, group, grant or source named does not exist. */
  NOT_FOUND: 'wampmesh.error.not_found',
  /** A realm, user or group by that name (or a public key) exists already. */
  ALREADY_EXISTS: 'wampmesh.error.already_exists',
  /** The change would lock the administrators out (e.g. deleting the admin realm). */
  NOT_ALLOWED: 'wampmesh.error.not_allowed',
  /** The store failed (disk full, I/O error); nothing was changed. */
  INTERNAL: 'wampmesh.error.internal',
} as const;

export class SecurityError extends Error {
  readonly uri: string;
  /** The offending field ("" for the request as a whole). */
  readonly field: string;
  /** What is wrong with it, without the field name. */
  readonly problem: string;

  constructor(uri: string, field: string, problem: string) {
    super(field ? `${field}: ${problem}` : problem);
    this.name = 'SecurityError';
    this.uri = uri;
    this.field = field;
    this.problem = problem;
  }
}

export const invalid = (field: string, problem: string) =>
  new SecurityError(SecurityErrorUri.INVALID_ARGUMENT, field, problem);
export const notFound = (field: string, problem: string) =>
  new SecurityError(SecurityErrorUri.NOT_FOUND, field, problem);
export const exists = (field: string, problem: string) =>
  new SecurityError(SecurityErrorUri.ALREADY_EXISTS, field, problem);

/** Joins path segments as JSON is written: a.b[0].c */
export function fieldPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out ? `.${String(s)}` : String(s);
  }
  return out;
}

export function joinField(prefix: string, field: string): string {
  if (prefix === '') return field;
  if (field === '') return prefix;
  return field.startsWith('[') ? `${prefix}${field}` : `${prefix}.${field}`;
}
