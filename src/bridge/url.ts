// A bridge's `url`, checked at start as its client will read it. A pattern let through what the
// clients then read otherwise: "http://[zz" retried "Invalid URL" forever, "mqtt://host:abc"
// connected to 1883, port 99999 failed only at the first connection. Here the scheme, the host
// and the port (1..65535) are each checked, and the problem is said in the field's message.

import net from 'node:net';

/** What a bridge type accepts: its schemes, and those that have no default port. */
export interface UrlRule {
  readonly schemes: readonly string[];
  readonly portRequired?: readonly string[];
  /** Schemes whose URL carries nothing after HOST:PORT (RawSocket). */
  readonly noPath?: readonly string[];
  /** The accepted forms, e.g. "mqtt://HOST:PORT, mqtts://HOST:PORT, ws://... or wss://...". */
  readonly usage: string;
}

// DNS names (underscores allowed: container and service names use them) and, for the URL
// parser's own check to apply to, nothing it would turn into something else.
const HOST_NAME =
  /^[\p{L}\p{N}_](?:[\p{L}\p{N}_-]*[\p{L}\p{N}_])?(?:\.[\p{L}\p{N}_](?:[\p{L}\p{N}_-]*[\p{L}\p{N}_])?)*\.?$/u;

/** Why `text` is not a URL of `rule`, or undefined when it is one. */
export function urlProblem(text: string, rule: UrlRule): string | undefined {
  const expected = `expected ${rule.usage}`;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined || !rule.schemes.includes(scheme)) return expected;
  if (/\s/.test(text)) return `${expected}; a URL has no spaces`;
  const rest = text.slice(scheme.length + 3);
  const authority = rest.slice(0, rest.search(/[/?#]|$/));
  const tail = rest.slice(authority.length);
  // Shown in bridge status and logs, where a password must not be: credentials have fields.
  if (authority.includes('@')) return 'expected no user name or password in the URL (it is shown in status and logs)';
  let host: string;
  let port: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    host = authority.slice(1, close < 0 ? undefined : close);
    if (close < 0 || !net.isIPv6(host)) return `"${authority}" is not an IPv6 address in brackets`;
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return `${expected}; "${after}" follows the address`;
    port = after === '' ? undefined : after.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon < 0 ? authority : authority.slice(0, colon);
    port = colon < 0 ? undefined : authority.slice(colon + 1);
    if (host === '') return `${expected}; the host is missing`;
    if (net.isIP(host) === 0 && !HOST_NAME.test(host)) return `"${host}" is not an IP address or host name`;
  }
  if (port === undefined) {
    if (rule.portRequired?.includes(scheme)) return `expected a port: ${scheme}://HOST:PORT`;
  } else if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    return `port "${port}" is not an integer 1..65535`;
  }
  if (rule.noPath?.includes(scheme) && tail !== '' && tail !== '/')
    return `expected nothing after the port: ${scheme}://HOST:PORT`;
  try {
    new URL(text);
  } catch {
    return `${expected}; not a valid URL`;
  }
  return undefined;
}
