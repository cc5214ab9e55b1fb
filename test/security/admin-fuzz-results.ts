// Whether what an accepted admin call returned is what the store holds, for the admin API fuzz
// (test/security/admin-fuzz.test.ts): the API must never report a state it did not store.

import { type RealmDocument, type SecurityDocument, userView } from '../../src/security/index.ts';
import { show } from '../helpers/fuzz-checks.ts';
import type { Call, Dict } from './admin-fuzz-calls.ts';

/**
 * JSON with sorted keys: the same data, whatever the order its fields were written in. An integer
 * beyond 2^53 stored as a number comes back over MsgPack or CBOR as a BigInt of the same value.
 */
function canonical(v: unknown, renameProto = false): string {
  return (
    JSON.stringify(v, (_k, x: unknown) =>
      typeof x === 'bigint'
        ? Number(x)
        : typeof x === 'object' && x !== null && !Array.isArray(x)
          ? Object.fromEntries(
              Object.entries(x)
                .map(([k, y]) => [renameProto && k === '__proto__' ? '__proto_' : k, y])
                .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0)),
            )
          : x,
    ) ?? 'undefined'
  );
}

/** Where two values first differ (as JSON), for the failure message. */
function difference(a: unknown, b: unknown, at = ''): string {
  if (canonical(a) === canonical(b)) return '';
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = difference((a as Dict)[k], (b as Dict)[k], `${at}.${k}`);
      if (d !== '') return d;
    }
  }
  return `${at || '(top)'}: ${show(a, 200)} vs ${show(b, 200)}`;
}

/**
 * What an accepted call returned is what the store holds: a record it created or changed, and
 * the lists and records it read (compared as JSON: -0 and 0 are the same number there). `via` is
 * the serialization the call went in. Returns what differs, or undefined.
 */
export function resultMismatch(
  call: Call,
  result: unknown[],
  after: SecurityDocument,
  via: string,
): string | undefined {
  const value = (result[3] as unknown[] | undefined)?.[0];
  const realmArg = typeof call.args[0] === 'string' ? call.args[0] : undefined;
  const realm = after.realms.find((r) => r.uri === realmArg);
  const v = value as Dict | undefined;
  const realmRecord = (r: RealmDocument | undefined) =>
    r && {
      uri: r.uri,
      description: r.description,
      authmethods: r.authmethods,
      security_enabled: r.security_enabled,
      allow_connections: r.allow_connections,
    };
  let held: unknown;
  switch (call.procedure) {
    case 'wampmesh.realm.create':
    case 'wampmesh.realm.update':
    case 'wampmesh.realm.get':
      held = realmRecord(after.realms.find((r) => r.uri === v?.uri));
      break;
    case 'wampmesh.realm.list':
      held = after.realms.map(realmRecord);
      break;
    case 'wampmesh.user.create':
    case 'wampmesh.user.update':
    case 'wampmesh.user.get': {
      const u = realm?.users.find((x) => x.authid === v?.authid);
      held = u && userView(u);
      break;
    }
    case 'wampmesh.user.list':
      held = realm?.users.map(userView);
      break;
    case 'wampmesh.group.create':
    case 'wampmesh.group.update':
    case 'wampmesh.group.get':
      held = realm?.groups.find((g) => g.name === v?.name);
      break;
    case 'wampmesh.group.list':
      held = realm?.groups;
      break;
    case 'wampmesh.grant.create':
    case 'wampmesh.grant.get':
      held = realm?.grants.find((g) => g.id === v?.id);
      break;
    case 'wampmesh.grant.list':
      held = realm?.grants;
      break;
    case 'wampmesh.source.create':
    case 'wampmesh.source.get':
      held = realm?.sources.find((x) => x.id === v?.id);
      break;
    case 'wampmesh.source.list':
      held = realm?.sources;
      break;
    case 'wampmesh.security.export':
      held = after;
      break;
    default:
      held = value; // deletes and import return nothing
  }
  // MsgPack and CBOR decoders (msgpackr, cbor-x) read a "__proto__" key as "__proto_".
  const renamed = via !== 'json';
  if (canonical(held, renamed) === canonical(value)) return undefined;
  return `the call returned what the store does not hold, at ${difference(value, held)}:\n  returned ${show(value, 1000)}\n  held ${show(held, 1000)}`;
}
