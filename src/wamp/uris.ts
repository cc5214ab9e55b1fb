// Error and close URIs, with the spec's sentence for each (basic profile, "Predefined URIs";
// advanced profile URIs where the router uses them).

export const ErrorUri = {
  /** A Peer provided an incorrect URI for any URI-based attribute of a WAMP message. */
  INVALID_URI: 'wamp.error.invalid_uri',
  /** No procedure is currently registered under the given URI. */
  NO_SUCH_PROCEDURE: 'wamp.error.no_such_procedure',
  /** A procedure with the given URI is already registered. */
  PROCEDURE_ALREADY_EXISTS: 'wamp.error.procedure_already_exists',
  /** The given registration is not active. */
  NO_SUCH_REGISTRATION: 'wamp.error.no_such_registration',
  /** The given subscription is not active. */
  NO_SUCH_SUBSCRIPTION: 'wamp.error.no_such_subscription',
  /** The given argument types or values are not acceptable. */
  INVALID_ARGUMENT: 'wamp.error.invalid_argument',
  /** A Peer received an invalid WAMP protocol message (ABORT reason). */
  PROTOCOL_VIOLATION: 'wamp.error.protocol_violation',
  /** The realm does not exist (ABORT reason). */
  NO_SUCH_REALM: 'wamp.error.no_such_realm',
  /** The Peer is not authorized for the action. */
  NOT_AUTHORIZED: 'wamp.error.not_authorized',
  /** Authentication failed (ABORT reason). */
  AUTHENTICATION_FAILED: 'wamp.error.authentication_failed',
  /** No authentication method the client offered is acceptable (ABORT reason). */
  NO_AUTH_METHOD: 'wamp.error.no_auth_method',
  /** A Dealer or Callee canceled a call previously issued. */
  CANCELED: 'wamp.error.canceled',
  /** A Peer requested an interaction with an option that was disallowed by the Router. */
  OPTION_NOT_ALLOWED: 'wamp.error.option_not_allowed',
  /** The serialized message is too large for the receiving peer. */
  PAYLOAD_SIZE_EXCEEDED: 'wamp.error.payload_size_exceeded',
  /** Advanced profile: a progressive CALL to a callee that does not support it. */
  FEATURE_NOT_SUPPORTED: 'wamp.error.feature_not_supported',
} as const;

export const CloseUri = {
  /** The Peer is shutting down completely (GOODBYE or ABORT reason). */
  SYSTEM_SHUTDOWN: 'wamp.close.system_shutdown',
  /** The Peer wants to leave the realm (GOODBYE reason). */
  CLOSE_REALM: 'wamp.close.close_realm',
  /** A Peer acknowledges ending of a session (GOODBYE reply reason). */
  GOODBYE_AND_OUT: 'wamp.close.goodbye_and_out',
  /** The session was killed, e.g. for not reading its messages. */
  KILLED: 'wamp.close.killed',
} as const;

// Spec, "URIs": loose rules forbid whitespace, '.' and '#' inside a component; empty
// components are allowed only in pattern-based (prefix/wildcard) URIs.
const LOOSE = /^([^\s.#]+\.)*([^\s.#]+)$/;
const LOOSE_PATTERN = /^(([^\s.#]+\.)|\.)*([^\s.#]+)?$/;
const STRICT = /^([0-9a-z_]+\.)*([0-9a-z_]+)$/;
const STRICT_PATTERN = /^(([0-9a-z_]+\.)|\.)*([0-9a-z_]+)?$/;

export type UriCheck = 'loose' | 'strict';

export function isValidUri(uri: string, check: UriCheck = 'loose', pattern = false): boolean {
  if (uri.length === 0) return pattern;
  if (check === 'strict') return (pattern ? STRICT_PATTERN : STRICT).test(uri);
  return (pattern ? LOOSE_PATTERN : LOOSE).test(uri);
}

/** URIs under "wamp." belong to the router (meta API); clients may not claim them. */
export function isReservedUri(uri: string): boolean {
  return uri.startsWith('wamp.');
}
