import { promises as dns, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { WebhookUrlGuard } from '../../application/webhooks/ports.js';

// The SSRF guard of webhook delivery (docs/design.md §5). A webhook URL is supplied by a client but
// fetched from inside our network, so it must not reach loopback, private, link-local (cloud
// metadata at 169.254.169.254 / fd00:ec2::254) or other non-public addresses. It is checked at
// registration on every address the host resolves to, and again at send time on the address
// actually connected to (a custom `lookup` for the socket), so a DNS answer that changes between
// the two (DNS rebinding) cannot slip through.
//
// Address classification is ipaddr.js's: a small, dependency-free, widely used library (also
// under Express's proxy-addr) that knows the IANA special-purpose ranges of IPv4 and IPv6.
// The rule is an allow-list: only its "unicast" class (public) passes, and for IPv6 only
// global unicast 2000::/3; anything it classifies otherwise is refused.

/** Resolves a host name to all its addresses, like `dns.lookup(host, { all: true })`. */
export type LookupAll = (hostname: string) => Promise<LookupAddress[]>;

export const systemLookupAll: LookupAll = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/** A URL or address the guard refuses; `reason` is for people (logs, the API's answer). */
export class UnsafeUrlError extends Error {
  readonly code = 'ERR_WEBHOOK_ADDRESS_NOT_ALLOWED';

  constructor(readonly reason: string) {
    super(reason);
    this.name = 'UnsafeUrlError';
  }
}

export interface SsrfOptions {
  /** WEBHOOK_ALLOW_PRIVATE: skip the address checks (development, tests). URL shape is still checked. */
  allowPrivate: boolean;
  /** Host name resolution; the system resolver by default (tests pass a fake). */
  lookup?: LookupAll;
}

const RANGE_NAMES: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local (cloud metadata lives there)',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
  private: 'private',
  reserved: 'reserved',
  uniqueLocal: 'unique-local (fc00::/7)',
  rfc6145: 'IPv4-translated',
  rfc6052: 'NAT64 local-use',
  '6to4': '6to4 (2002::/16)',
  teredo: 'Teredo (2001::/32)',
};

const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

/** Why an IP address may not be reached, or null when it is a public unicast address. */
export function forbiddenAddressReason(address: string): string | null {
  if (isIP(address) === 0) return `"${address}" is not an IP address`;
  const ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv4') {
    const range = ip.range();
    return range === 'unicast' ? null : `${address} is a ${RANGE_NAMES[range] ?? range} address`;
  }
  const v6 = ip as ipaddr.IPv6;
  const range = v6.range();
  // Addresses that carry an IPv4 address are judged by it: ::ffff:127.0.0.1 is loopback.
  if (range === 'ipv4Mapped') return embedded(address, v6.toIPv4Address());
  if (v6.match(NAT64_WELL_KNOWN)) {
    const [high = 0, low = 0] = v6.parts.slice(6);
    return embedded(address, new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]));
  }
  if (range !== 'unicast') return `${address} is a ${RANGE_NAMES[range] ?? range} address`;
  if (!v6.match(GLOBAL_UNICAST_V6)) return `${address} is not a global unicast address`;
  return null;
}

function embedded(address: string, v4: ipaddr.IPv4): string | null {
  const reason = forbiddenAddressReason(v4.toString());
  return reason === null ? null : `${address} embeds ${reason}`;
}

interface Target {
  /** Without IPv6 brackets or a trailing dot, lower case. */
  host: string;
  isIp: boolean;
}

/**
 * Checks what can be checked without DNS: an http(s) URL, no credentials, not `localhost`, and,
 * when the host is an IP literal, a public address. Throws UnsafeUrlError.
 */
export function checkUrlTarget(url: string, options: { allowPrivate: boolean }): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UnsafeUrlError('not a valid absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UnsafeUrlError('only http and https URLs are allowed');
  if (parsed.username !== '' || parsed.password !== '') throw new UnsafeUrlError('credentials in the URL are not allowed');
  // WHATWG URL parsing has already turned 0x7f.1, 2130706433 and the like into dotted quads.
  let host = parsed.hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  const target = { host, isIp: isIP(host) !== 0 };
  if (options.allowPrivate) return target;
  // RFC 6761: localhost and *.localhost always mean this machine, whatever DNS says.
  if (host === 'localhost' || host.endsWith('.localhost')) throw new UnsafeUrlError(`${host} is this machine`);
  if (target.isIp) {
    const reason = forbiddenAddressReason(host);
    if (reason !== null) throw new UnsafeUrlError(reason);
  }
  return target;
}

/**
 * The registration-time check: the URL's shape, then every address its host resolves to must
 * be public (one private address is enough to refuse: the connection may pick any of them).
 * Throws UnsafeUrlError. Does nothing more than the shape check when `allowPrivate`.
 */
export async function assertPublicUrl(url: string, options: SsrfOptions): Promise<void> {
  const target = checkUrlTarget(url, options);
  if (options.allowPrivate || target.isIp) return;
  let addresses: LookupAddress[];
  try {
    addresses = await (options.lookup ?? systemLookupAll)(target.host);
  } catch (error) {
    throw new UnsafeUrlError(`${target.host} does not resolve (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (addresses.length === 0) throw new UnsafeUrlError(`${target.host} does not resolve`);
  for (const { address } of addresses) {
    const reason = forbiddenAddressReason(address);
    if (reason !== null) throw new UnsafeUrlError(`${target.host} resolves to ${address}: ${reason}`);
  }
}

/**
 * A `lookup` for net/tls sockets (undici's `connect.lookup`) that resolves with `options.lookup`
 * and refuses, unless `allowPrivate`, when any address is not public: the check is on the
 * very addresses the socket will connect to. (IP-literal hosts never reach a lookup; the sender
 * checks those with `checkUrlTarget` before connecting.)
 */
export function guardedLookup(options: SsrfOptions): LookupFunction {
  const resolve = options.lookup ?? systemLookupAll;
  return (hostname, lookupOptions, callback) => {
    resolve(hostname).then(
      (all) => {
        const family = familyOf(lookupOptions.family);
        const addresses = family === 0 ? all : all.filter((entry) => entry.family === family);
        if (!options.allowPrivate) {
          for (const { address } of addresses) {
            const reason = forbiddenAddressReason(address);
            if (reason !== null) {
              callback(new UnsafeUrlError(`${hostname} resolves to ${address}: ${reason}`), '');
              return;
            }
          }
        }
        const first = addresses[0];
        if (!first) {
          callback(Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' }), '');
        } else if (lookupOptions.all) {
          callback(null, addresses);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}

function familyOf(family: number | 'IPv4' | 'IPv6' | undefined): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

/** The registration-time guard behind CreateWebhookEndpoint. */
export class SsrfUrlGuard implements WebhookUrlGuard {
  constructor(private readonly options: SsrfOptions) {}

  async refusalFor(url: string): Promise<string | null> {
    try {
      await assertPublicUrl(url, this.options);
      return null;
    } catch (error) {
      if (error instanceof UnsafeUrlError) return error.reason;
      throw error;
    }
  }
}
