/**
 * Invoicebox dialect: the auth check of an organisation API token.
 * `GET /v3/security/api/auth/auth` and `GET /l3/security/api/auth/auth` both accept every
 * API-token format (v3, l3, native). Parses the wire, calls core, writes the wire.
 */
import type { CheckOutcome, CheckReason, VerifiedKind } from '../../../core/verification.ts';
import type { HeaderRequest } from '../../check-lane.ts';
import type { DialectContext, HttpApp, WireDialect, WireReply } from '../../dialect.ts';
import { headerValue } from '../../lang.ts';
import { withPolicyHeaders } from '../../policy-headers.ts';
import { INVOICEBOX_CODES, type InvoiceboxCode } from './codes.ts';
import { invoiceboxError, invoiceboxFailure, invoiceboxOk } from './envelope.ts';
import { authCheckSchema } from './schemas.ts';

const FAILURES: Record<CheckReason, InvoiceboxCode> = {
  invalid: 'unauthorized',
  expired: 'unauthorized',
  revoked: 'unauthorized',
  account_disabled: 'forbidden',
  // A live token refused by one of its rules (docs/policies.md).
  rate_limited: 'too_many_requests',
  credits_exhausted: 'credits_exhausted',
  ip_denied: 'forbidden',
  scope_missing: 'forbidden',
};

/** Both paths take every API-token format (v3, l3, native), and nothing else. */
const CHECKED: readonly VerifiedKind[] = ['api_token'];

/**
 * The token of `Authorization: Bearer <token>`; a bare token is taken too (lenient to clients
 * that forget the scheme). Undefined: no header at all (the anonymous answer). Null: a header that
 * carries no token (another scheme, `Bearer` alone): 401.
 */
function bearerOf(headers: HeaderRequest['headers']): string | null | undefined {
  const raw = headerValue(headers.authorization)?.trim();
  if (raw === undefined || raw === '') return undefined;
  const m = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+(.*))?$/.exec(raw);
  if (m && m[2] !== undefined) return m[1]!.toLowerCase() === 'bearer' ? m[2].trim() || null : null;
  if (m && m[1]!.toLowerCase() === 'bearer') return null;
  return raw;
}

function answer(check: CheckOutcome): WireReply {
  if (!check.ok) return withPolicyHeaders(invoiceboxError(FAILURES[check.reason]), check);
  return withPolicyHeaders(invoiceboxOk({ userId: check.identity.accountUid, profile: null, accessToken: null }), check);
}

async function register(app: HttpApp, { core, lane }: DialectContext): Promise<void> {
  /** A check answered from the cache is answered in this turn, without a promise. */
  function authCheck(request: HeaderRequest): WireReply | Promise<WireReply> {
    const token = bearerOf(request.headers);
    // Without a token the answer is the anonymous user, 200.
    if (token === undefined) return invoiceboxOk({ userId: null, profile: null, accessToken: null });
    if (token === null) return invoiceboxError('unauthorized');
    const check = core.verification.checkNow(token, { accept: CHECKED, address: request.address });
    return check instanceof Promise ? check.then(answer) : answer(check);
  }

  for (const version of ['v3', 'l3'] as const) {
    lane.route(app, `/${version}/security/api/auth/auth`, authCheckSchema(version), authCheck);
  }
}

export const invoiceboxDialect: WireDialect = {
  name: 'invoicebox',
  prefixes: ['/v3/', '/l3/'],
  codes: INVOICEBOX_CODES,
  renderFailure: invoiceboxFailure,
  register,
};
