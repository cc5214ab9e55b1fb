// MQTT reason codes (5.0, section 2.4) and CONNACK return codes (3.1.1, section 3.2.2.3), and
// the one table that turns a WAMP refusal into each. Names are the specs' own.

/** MQTT 5.0 reason codes the listener sends. */
export const Reason = {
  SUCCESS: 0x00,
  GRANTED_QOS_1: 0x01,
  GRANTED_QOS_2: 0x02,
  DISCONNECT_WITH_WILL: 0x04,
  NO_SUBSCRIPTION_EXISTED: 0x11,
  UNSPECIFIED_ERROR: 0x80,
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC_ERROR: 0x83,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_IDENTIFIER_NOT_VALID: 0x85,
  BAD_USER_NAME_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  SERVER_BUSY: 0x89,
  BANNED: 0x8a,
  SERVER_SHUTTING_DOWN: 0x8b,
  BAD_AUTHENTICATION_METHOD: 0x8c,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_FILTER_INVALID: 0x8f,
  TOPIC_NAME_INVALID: 0x90,
  PACKET_IDENTIFIER_NOT_FOUND: 0x92,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  QUOTA_EXCEEDED: 0x97,
  ADMINISTRATIVE_ACTION: 0x98,
  PAYLOAD_FORMAT_INVALID: 0x99,
  SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: 0x9e,
  SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED: 0xa1,
  WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: 0xa2,
} as const;

/** MQTT 3.1.1 CONNACK return codes. */
export const ConnectReturn = {
  ACCEPTED: 0,
  UNACCEPTABLE_PROTOCOL_VERSION: 1,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USER_NAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;

/** MQTT 3.1.1 SUBACK return code for a refused subscription. */
export const SUBACK_FAILURE_311 = 0x80;

/** The 3.1.1 return code that says the same as a 5.0 CONNACK reason code. */
export function connectReturnOf(reason: number): number {
  switch (reason) {
    case Reason.SUCCESS:
      return ConnectReturn.ACCEPTED;
    case Reason.UNSUPPORTED_PROTOCOL_VERSION:
      return ConnectReturn.UNACCEPTABLE_PROTOCOL_VERSION;
    case Reason.CLIENT_IDENTIFIER_NOT_VALID:
      return ConnectReturn.IDENTIFIER_REJECTED;
    case Reason.BAD_USER_NAME_OR_PASSWORD:
      return ConnectReturn.BAD_USER_NAME_OR_PASSWORD;
    case Reason.NOT_AUTHORIZED:
    case Reason.BANNED:
      return ConnectReturn.NOT_AUTHORIZED;
    default:
      return ConnectReturn.SERVER_UNAVAILABLE;
  }
}

/** CONNACK reason for the ABORT that ended a WAMP handshake. */
export function connackReasonOfAbort(reason: string): number {
  switch (reason) {
    case 'wamp.error.authentication_failed':
      return Reason.BAD_USER_NAME_OR_PASSWORD;
    case 'wamp.error.no_auth_method':
    case 'wamp.error.not_authorized':
    case 'wamp.error.authorization_failed':
      return Reason.NOT_AUTHORIZED;
    case 'wamp.error.no_such_realm':
      return Reason.SERVER_UNAVAILABLE;
    default:
      return Reason.UNSPECIFIED_ERROR;
  }
}

/** PUBACK/PUBREC (5.0) or SUBACK reason for a WAMP ERROR answering a PUBLISH or SUBSCRIBE. */
export function reasonOfError(error: string, filter: boolean): number {
  switch (error) {
    case 'wamp.error.not_authorized':
      return Reason.NOT_AUTHORIZED;
    case 'wamp.error.invalid_uri':
      return filter ? Reason.TOPIC_FILTER_INVALID : Reason.TOPIC_NAME_INVALID;
    case 'wamp.error.payload_size_exceeded':
      return Reason.PACKET_TOO_LARGE;
    default:
      return Reason.IMPLEMENTATION_SPECIFIC_ERROR;
  }
}
