/**
 * IP allow-lists: single addresses and CIDR ranges, IPv4 and IPv6.
 *
 * Parsing is ipaddr.js (the library @fastify/proxy-addr already relies on for trusted proxies),
 * not hand-written code: IPv6 has compressed forms, embedded IPv4, zone ids and IPv4-mapped
 * addresses, each a classic source of allow-list bypasses. Two rules keep the lists strict:
 * - IPv4 must be four decimal parts (`10.0.0.1`): ipaddr.js alone would also take `10.1`,
 *   `0x0a.0.0.1` or `012.0.0.1`, which people do not mean and which read differently elsewhere.
 * - An IPv4-mapped IPv6 client address (`::ffff:10.0.0.1`, what a dual-stack socket reports) is
 *   matched as the IPv4 address it carries.
 * An address that cannot be parsed is outside every list.
 */
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

export const MAX_ALLOW_LIST_ENTRIES = 100;

/** Why an entry is not an address or a range, or null when it is one. */
export function allowEntryProblem(entry: string): string | null {
  const slash = entry.indexOf('/');
  const host = slash === -1 ? entry : entry.slice(0, slash);
  if (host.includes(':')) {
    if (slash === -1) return ipaddr.IPv6.isValid(entry) && !entry.includes('%') ? null : 'is not an IPv6 address';
    if (!/^\d{1,3}$/.test(entry.slice(slash + 1)) || !ipaddr.IPv6.isValidCIDR(entry) || host.includes('%')) {
      return 'is not an IPv6 range (address/0-128)';
    }
    return null;
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(host)) return 'is not an IPv4 address (four decimal parts) or an IPv6 address';
  if (slash === -1) return null;
  if (!/^\d{1,2}$/.test(entry.slice(slash + 1)) || !ipaddr.IPv4.isValidCIDRFourPartDecimal(entry)) return 'is not an IPv4 range (address/0-32)';
  return null;
}

/** The canonical spelling of a valid entry (`2001:db8::/32`, `10.0.0.0/8`, `192.0.2.1`). */
export function normalizeAllowEntry(entry: string): string {
  if (!entry.includes('/')) return ipaddr.parse(entry).toString();
  const [range, bits] = ipaddr.parseCIDR(entry);
  return `${range.toString()}/${bits}`;
}

/** A client address as the allow-list sees it, or null when it cannot be parsed. */
export function parseClientAddress(address: string | null | undefined): Address | null {
  if (!address || address.length > 64) return null;
  try {
    if (!address.includes(':')) return ipaddr.IPv4.isValidFourPartDecimal(address) ? ipaddr.IPv4.parse(address) : null;
    if (!ipaddr.IPv6.isValid(address)) return null;
    const v6 = ipaddr.IPv6.parse(address);
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
  } catch {
    return null;
  }
}

/**
 * Parsed client addresses, kept: the same few clients check again and again, and parsing is most of
 * an allow-list's cost per check. Bounded; past the bound it starts afresh.
 */
const PARSED = new Map<string, Address | null>();
const MAX_PARSED = 10_000;

function parsedAddress(address: string | null | undefined): Address | null {
  if (!address) return null;
  let parsed = PARSED.get(address);
  if (parsed === undefined) {
    parsed = parseClientAddress(address);
    if (PARSED.size >= MAX_PARSED) PARSED.clear();
    PARSED.set(address, parsed);
  }
  return parsed;
}

/** Decisions a list keeps per client address (its clients are few and check again and again). */
const MAX_DECIDED = 1024;

export class AllowList {
  readonly #v4: [ipaddr.IPv4, number][] = [];
  readonly #v6: [ipaddr.IPv6, number][] = [];
  readonly #decided = new Map<string, boolean>();

  /** Entries must be valid (see allowEntryProblem); the rules were validated when they were stored. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [range, bits] = entry.includes('/') ? ipaddr.parseCIDR(entry) : single(ipaddr.parse(entry));
      if (range.kind() === 'ipv4') this.#v4.push([range as ipaddr.IPv4, bits]);
      else {
        const v6 = range as ipaddr.IPv6;
        // A mapped range (`::ffff:10.0.0.0/104`) means the IPv4 range it maps; client addresses are unmapped the same way.
        if (v6.isIPv4MappedAddress() && bits >= 96) this.#v4.push([v6.toIPv4Address(), bits - 96]);
        else this.#v6.push([v6, bits]);
      }
    }
  }

  allows(address: string | null | undefined): boolean {
    if (!address) return false;
    let allowed = this.#decided.get(address);
    if (allowed === undefined) {
      allowed = this.#match(address);
      if (this.#decided.size >= MAX_DECIDED) this.#decided.clear();
      this.#decided.set(address, allowed);
    }
    return allowed;
  }

  #match(address: string): boolean {
    const parsed = parsedAddress(address);
    if (!parsed) return false;
    if (parsed.kind() === 'ipv4') {
      const v4 = parsed as ipaddr.IPv4;
      return this.#v4.some(([range, bits]) => v4.match(range, bits));
    }
    const v6 = parsed as ipaddr.IPv6;
    return this.#v6.some(([range, bits]) => v6.match(range, bits));
  }
}

function single(address: Address): [Address, number] {
  return [address, address.kind() === 'ipv4' ? 32 : 128];
}
