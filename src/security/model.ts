// The security model and its input validation, as the store imports them: the records live in
// records.ts, their field schemas in fields.ts, the record schemas in schemas.ts. Every other
// module imports from those directly.

export {
  AUTH_METHODS,
  authroleOf,
  PASSWORD_METHODS,
  type AuthMethod,
  type Credentials,
  type Dict,
  type GrantRecord,
  type GroupRecord,
  type PasswordMethod,
  type Principal,
  type RealmDocument,
  type RealmRecord,
  type SecurityDocument,
  type SourceRecord,
  type UserRecord,
  type UserView,
} from './records.ts';
export {
  grantCreateSchema,
  groupCreateSchema,
  groupUpdateSchema,
  MAX_RECORD_ID,
  parse,
  realmCreateSchema,
  realmUpdateSchema,
  sourceCreateSchema,
  userCreateSchema,
  userUpdateSchema,
  type GrantCreate,
  type SourceCreate,
  type UserCreate,
  type UserUpdate,
} from './schemas.ts';
