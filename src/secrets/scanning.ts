/**
 * For secret scanners (docs/secret-scanning.md, .gitleaks.toml): the pattern of every kind of
 * secret tokend issues, and offline checks that tell a real one from a look-alike without calling
 * the server.
 *
 * Native tokens carry a CRC32 checksum (src/secrets/tokens.ts): a candidate whose checksum fails
 * is not a tokend token, whatever it looks like. The compatibility formats carry none (their shape
 * is fixed by the APIs tokend speaks), so for them the shape is all a scanner can check offline.
 */
import { parseNativeToken, TOKEN_PREFIXES, type TokenKind } from './tokens.ts';

/**
 * Validates a candidate native token (`tda_…`, `tdr_…`, `tds_…`, `tdo_…`, `tdm_…`, `tdx_…`,
 * `tdc_…`, `tdp_…`, `tdw_…`) offline: its shape and its checksum. Returns the kind of token it is, or null when it is
 * not a well-formed tokend token (a typo, a truncation, a test fixture, a random look-alike).
 *
 * A non-null answer says the string was produced by tokend's generator, not that the token is
 * still valid: only the server knows that (`POST /oauth2/introspect`).
 *
 * @example
 * validateTokenChecksum('tdo_4Xl9…') // 'apiToken'
 * validateTokenChecksum('tdo_4Xl9…' + 'x') // null
 */
export function validateTokenChecksum(candidate: string): TokenKind | null {
  return parseNativeToken(candidate);
}

export type SecretShape =
  | { format: 'native'; kind: TokenKind }
  | { format: 'v3' }
  | { format: 'l3'; accountId: number }
  | { format: 'jwt'; typ: string | null; kid: string | null };

/**
 * What a candidate is, from its shape (and, for native tokens, its checksum): what a scanner can
 * know offline. A JWT counts as tokend's only if its header is the one tokend writes (`typ:
 * at+jwt` and a `kid`); anything else is null.
 */
export function identifySecret(candidate: string): SecretShape | null {
  const s = candidate.trim();
  const kind = parseNativeToken(s);
  if (kind) return { format: 'native', kind };
  if (/^[0-9a-f]{32}$/.test(s)) return { format: 'v3' };
  const l3 = /^([1-9][0-9]{0,14})-API:[0-9a-f]{32}$/.exec(s);
  if (l3) return { format: 'l3', accountId: Number(l3[1]) };
  const jwt = /^(eyJ[A-Za-z0-9_-]+)\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.exec(s);
  if (jwt) {
    try {
      const header = JSON.parse(Buffer.from(jwt[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      if (header.typ === 'at+jwt' && typeof header.kid === 'string') return { format: 'jwt', typ: header.typ, kid: header.kid };
    } catch {
      // Not JSON: not a JWT at all.
    }
  }
  return null;
}

export interface SecretPattern {
  /** Rule id, as in .gitleaks.toml. */
  id: string;
  description: string;
  /** RE2-compatible (Go, gitleaks, GitHub) and JavaScript-compatible; the secret is capture group 1. */
  regex: string;
  /** Words that must appear near a match before the regex runs (gitleaks `keywords`). */
  keywords: string[];
  /** Offline check beyond the regex, if any. */
  check: 'checksum' | 'shape';
}

const NATIVE_DESCRIPTIONS: Record<TokenKind, string> = {
  access: 'tokend access token (ChatApp scheme)',
  refresh: 'tokend refresh token',
  secretKey: 'tokend service-account Secret Key',
  apiToken: 'tokend native organisation API token',
  admin: 'tokend admin token (generated)',
  resourceServer: 'tokend resource-server credential (introspection, revocation)',
  consoleSession: 'tokend console sign-in token (cookie)',
  operatorKey: 'tokend operator key (admin API, with a permission set)',
  passwordReset: 'tokend one-time password-reset link token',
};

/** One pattern per kind of secret. docs/secret-scanning.md and .gitleaks.toml are checked against these. */
export const SECRET_PATTERNS: readonly SecretPattern[] = [
  ...(Object.keys(TOKEN_PREFIXES) as TokenKind[]).map((kind) => ({
    id: `tokend-${TOKEN_PREFIXES[kind]}`,
    description: NATIVE_DESCRIPTIONS[kind],
    regex: `\\b(${TOKEN_PREFIXES[kind]}_[0-9A-Za-z]{33})\\b`,
    keywords: [`${TOKEN_PREFIXES[kind]}_`],
    check: 'checksum' as const,
  })),
  {
    id: 'tokend-l3-api-token',
    description: 'tokend organisation API token, l3 format (Invoicebox scheme)',
    regex: '\\b([1-9][0-9]{0,14}-API:[0-9a-f]{32})\\b',
    keywords: ['-api:'],
    check: 'shape',
  },
  {
    // 32 hex characters alone are anything (an MD5, a UUID without dashes): only next to the words
    // a client writes before its token.
    id: 'tokend-v3-api-token',
    description: 'tokend organisation API token, v3 format (Invoicebox scheme): 32 lower-case hex characters after Bearer or a token-ish name',
    regex: '(?:[Bb]earer\\s+|[Tt][Oo][Kk][Ee][Nn]["\'`]?\\s*[:=]\\s*["\'`]?)([0-9a-f]{32})\\b',
    keywords: ['bearer', 'token'],
    check: 'shape',
  },
  {
    id: 'tokend-access-jwt',
    description: 'tokend service-account access token (JWT, header typ at+jwt; hoster.by scheme)',
    regex: '\\b(eyJ[A-Za-z0-9_-]{10,}\\.eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{20,})',
    keywords: ['eyj'],
    check: 'shape',
  },
];
