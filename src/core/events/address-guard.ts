/**
 * Where webhooks may go. tokend POSTs to URLs its users choose, from inside the operator's network,
 * so a URL must not reach what only tokend can reach (server-side request forgery): loopback,
 * link-local (cloud metadata at 169.254.169.254), private and unique-local ranges, carrier-grade
 * NAT, multicast, broadcast, unspecified and reserved addresses are refused, unless the operator
 * allows a range (TOKEND_WEBHOOK_ALLOWED_NETWORKS). The URL is checked when it is registered; at
 * every delivery every address its host resolves to is checked again and the connection goes to
 * a checked address (src/http/outbound/webhooks.ts), so a name that later resolves elsewhere
 * (DNS rebinding) gets nowhere.
 *
 * Ranges are ipaddr.js's (also behind the IP allow-lists, src/core/policies/ip.ts): only its
 * `unicast` range, the public Internet, is allowed by default.
 */
import ipaddr from 'ipaddr.js';

export const MAX_URL_LENGTH = 2048;

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Parses a comma-separated CIDR list; throws naming the first bad entry. */
export function parseNetworks(entries: readonly string[]): [Address, number][] {
  return entries.map((entry) => {
    try {
      const parsed = entry.includes('/') ? ipaddr.parseCIDR(entry) : ([ipaddr.parse(entry), entry.includes(':') ? 128 : 32] as [Address, number]);
      return parsed;
    } catch {
      throw new Error(`${JSON.stringify(entry)} is not an IP address or a CIDR range`);
    }
  });
}

export class AddressGuard {
  readonly #allowed: [Address, number][];

  constructor(allowedNetworks: readonly string[]) {
    this.#allowed = parseNetworks(allowedNetworks);
  }

  /** Null when tokend may connect to `address`, else why not. */
  refusal(address: string): string | null {
    let parsed: Address;
    try {
      parsed = ipaddr.parse(address);
    } catch {
      return 'is not an IP address';
    }
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    for (const [range, bits] of this.#allowed) {
      if (range.kind() === parsed.kind() && parsed.match(range as never, bits)) return null;
    }
    const kind = parsed.range();
    return kind === 'unicast' ? null : `points to a ${kind} address (allow it with TOKEND_WEBHOOK_ALLOWED_NETWORKS)`;
  }

  /**
   * What is wrong with an endpoint URL before any delivery, or null: http(s) only, at most 2,048
   * characters, no credentials in it, and a host that is not a blocked address or `localhost`.
   * A host name is resolved only at delivery (it may resolve differently then anyway).
   */
  urlProblem(raw: string): string | null {
    if (raw.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return 'is not a URL';
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http or https URL';
    if (url.username || url.password) return 'must not carry credentials';
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (ipaddr.isValid(host)) return this.refusal(host);
    const name = host.toLowerCase().replace(/\.$/, '');
    if (name === 'localhost' || name.endsWith('.localhost')) return this.refusal('127.0.0.1');
    return null;
  }
}
