// The admin subcommands: for each `wampmesh ENTITY VERB`, the admin procedure it calls
// (src/security/admin.ts), its positional arguments, and the flags that build its argument object.

type FlagKind = 'string' | 'list' | 'csv' | 'bool' | 'json';
export interface Flag {
  readonly kind: FlagKind;
  readonly field: string;
  readonly help: string;
}
export interface Verb {
  readonly procedure: string;
  readonly positionals: readonly string[];
  readonly summary: string;
  readonly flags?: Readonly<Record<string, Flag>>;
  /** The last positional goes into the argument object under this field (create). */
  readonly intoObject?: string;
  readonly online?: boolean;
}

const f = (kind: FlagKind, field: string, help: string): Flag => ({ kind, field, help });
const realmFlags = {
  description: f('string', 'description', 'free text'),
  authmethods: f(
    'csv',
    'authmethods',
    'comma-separated: anonymous,ticket,wampcra,cryptosign,wamp-scram,trust,oauth2,tls',
  ),
  security: f('bool', 'security_enabled', 'on|off: authorisation by grants (off: everything allowed)'),
  connections: f('bool', 'allow_connections', 'on|off: whether new sessions may join'),
};
const userFlags = {
  password: f('string', 'password', 'clear password; stored only as salted hashes'),
  group: f('list', 'groups', 'a group the user belongs to (repeatable)'),
  role: f('string', 'role', "authrole (one of the user's groups)"),
  pubkey: f('list', 'pubkeys', 'an Ed25519 public key, hex, for cryptosign (repeatable)'),
  meta: f('json', 'meta', 'JSON object of free data'),
  disabled: f('bool', 'disabled', 'on|off: a disabled user cannot log in; disabling ends their sessions'),
};
const groupFlags = {
  description: f('string', 'description', 'free text'),
  parent: f('list', 'groups', 'a group this group is nested in (repeatable)'),
  meta: f('json', 'meta', 'JSON object of free data'),
};

export const commands: Readonly<Record<string, Readonly<Record<string, Verb>>>> = {
  realm: {
    list: { procedure: 'wampmesh.realm.list', positionals: [], summary: 'list realms' },
    get: { procedure: 'wampmesh.realm.get', positionals: ['REALM'], summary: 'show one realm' },
    create: {
      procedure: 'wampmesh.realm.create',
      positionals: ['REALM'],
      intoObject: 'uri',
      flags: realmFlags,
      summary: 'create a realm (--authmethods required)',
    },
    update: {
      procedure: 'wampmesh.realm.update',
      positionals: ['REALM'],
      flags: realmFlags,
      summary: 'change a realm',
    },
    delete: {
      procedure: 'wampmesh.realm.delete',
      positionals: ['REALM'],
      summary: 'delete a realm and end its sessions',
    },
  },
  user: {
    list: { procedure: 'wampmesh.user.list', positionals: ['REALM'], summary: 'list users of a realm' },
    get: { procedure: 'wampmesh.user.get', positionals: ['REALM', 'AUTHID'], summary: 'show one user (no secrets)' },
    create: {
      procedure: 'wampmesh.user.create',
      positionals: ['REALM', 'AUTHID'],
      intoObject: 'authid',
      flags: userFlags,
      summary: 'create a user',
    },
    update: {
      procedure: 'wampmesh.user.update',
      positionals: ['REALM', 'AUTHID'],
      flags: userFlags,
      summary: 'change a user (e.g. --password); new credentials end their sessions',
    },
    delete: {
      procedure: 'wampmesh.user.delete',
      positionals: ['REALM', 'AUTHID'],
      summary: 'delete a user and end their sessions',
    },
  },
  group: {
    list: { procedure: 'wampmesh.group.list', positionals: ['REALM'], summary: 'list groups of a realm' },
    get: { procedure: 'wampmesh.group.get', positionals: ['REALM', 'NAME'], summary: 'show one group' },
    create: {
      procedure: 'wampmesh.group.create',
      positionals: ['REALM', 'NAME'],
      intoObject: 'name',
      flags: groupFlags,
      summary: 'create a group',
    },
    update: {
      procedure: 'wampmesh.group.update',
      positionals: ['REALM', 'NAME'],
      flags: groupFlags,
      summary: 'change a group',
    },
    delete: { procedure: 'wampmesh.group.delete', positionals: ['REALM', 'NAME'], summary: 'delete a group' },
  },
  grant: {
    list: { procedure: 'wampmesh.grant.list', positionals: ['REALM'], summary: 'list grants of a realm' },
    get: { procedure: 'wampmesh.grant.get', positionals: ['REALM', 'ID'], summary: 'show one grant' },
    create: {
      procedure: 'wampmesh.grant.create',
      positionals: ['REALM'],
      summary: 'grant permissions on a URI',
      flags: {
        allow: f('csv', 'permissions', 'comma-separated: call,register,subscribe,publish'),
        uri: f('string', 'uri', 'the URI (or pattern)'),
        match: f('string', 'match', 'exact (default), prefix or wildcard'),
        to: f('list', 'to', 'principal: all, anonymous, user:AUTHID or group:NAME (repeatable)'),
      },
    },
    delete: {
      procedure: 'wampmesh.grant.delete',
      positionals: ['REALM', 'ID'],
      summary: 'revoke a grant (takes effect on the next action)',
    },
  },
  source: {
    list: { procedure: 'wampmesh.source.list', positionals: ['REALM'], summary: 'list sources of a realm' },
    get: { procedure: 'wampmesh.source.get', positionals: ['REALM', 'ID'], summary: 'show one source' },
    create: {
      procedure: 'wampmesh.source.create',
      positionals: ['REALM'],
      summary: 'allow authmethods from an address range',
      flags: {
        cidr: f('string', 'cidr', '"any", "unix" or a CIDR block such as 10.0.0.0/8'),
        authmethods: f('csv', 'authmethods', 'comma-separated authmethods allowed from there'),
        to: f('list', 'to', 'principal: all, anonymous, user:AUTHID or group:NAME (repeatable)'),
        description: f('string', 'description', 'free text'),
      },
    },
    delete: { procedure: 'wampmesh.source.delete', positionals: ['REALM', 'ID'], summary: 'delete a source' },
  },
  api: {
    list: { procedure: 'wampmesh.api.list', positionals: [], summary: 'list HTTP API gateway specs of every realm' },
    get: { procedure: 'wampmesh.api.get', positionals: ['REALM', 'NAME'], summary: 'show one API spec' },
    create: {
      procedure: 'wampmesh.api.add',
      positionals: ['FILE'],
      summary: 'add an API spec from a JSON file (served on every node of the mesh)',
    },
    replace: {
      procedure: 'wampmesh.api.replace',
      positionals: ['FILE'],
      summary: 'add an API spec, or replace the one of that realm and name',
    },
    delete: { procedure: 'wampmesh.api.delete', positionals: ['REALM', 'NAME'], summary: 'delete an API spec' },
  },
  security: {
    export: {
      procedure: 'wampmesh.security.export',
      positionals: [],
      summary: 'print the whole security configuration as JSON',
      flags: { out: f('string', '', 'write to this file instead of stdout') },
    },
    import: {
      procedure: 'wampmesh.security.import',
      positionals: ['FILE'],
      summary: 'replace the whole configuration from a JSON file (all or nothing)',
    },
  },
  mesh: {
    status: {
      procedure: 'wampmesh.mesh.status',
      positionals: [],
      summary: "links, known peers, routes, members and this node's key of the running router",
      online: true,
    },
    admit: {
      procedure: 'wampmesh.mesh.admit',
      positionals: ['NODE'],
      summary: 'admit a node to the mesh (by default with the key it presented when it was refused)',
      flags: { key: f('string', 'key', "the node's public key (its `wampmesh mesh status` shows it)") },
      online: true,
    },
    remove: {
      procedure: 'wampmesh.mesh.remove',
      positionals: ['NODE'],
      summary: 'remove a node from the mesh for good: its key is revoked on every node and its links close',
      online: true,
    },
  },
  bridge: {
    status: {
      procedure: 'wampmesh.bridge.status',
      positionals: [],
      summary: 'state, queue depth, oldest age, rates, last error of each bridge',
      online: true,
    },
    dead: {
      procedure: 'wampmesh.bridge.dead.list',
      positionals: ['NAME'],
      summary: "list the events a bridge's remote side refused for good",
      flags: { limit: f('json', 'limit', 'at most this many (default 100, max 1000)') },
      online: true,
    },
    replay: {
      procedure: 'wampmesh.bridge.dead.replay',
      positionals: ['NAME'],
      summary: 'queue dead letters again (all, or --id N)',
      flags: { id: f('json', 'id', 'only the dead letter with this id') },
      online: true,
    },
  },
};

export const aliases: Readonly<Record<string, string>> = {
  add: 'create',
  rm: 'delete',
  remove: 'delete',
  revoke: 'delete',
  show: 'get',
  ls: 'list',
};
