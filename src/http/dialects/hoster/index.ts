/**
 * hoster.by dialect: service-account token creation, refresh and the two token-info calls, as
 * the public API has them (docs/errors.md lists its codes). Parses the wire, calls core.serviceAccounts, writes the wire; nothing else.
 *
 * Clients of this API send `POST` create and `PATCH` refresh with `Content-Type: application/json`
 * and an empty body, and some send bodies of their own: every body here is ignored (read only to
 * enforce the size limit, never parsed). Header names are case-insensitive (the API's own
 * documentation writes `refresh-Token`); a header that is absent or empty counts as missing (400).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toUnixSeconds } from '../../../core/clock.ts';
import type { CreateTokensFailure } from '../../../core/service-accounts.ts';
import type { RefreshFailure, TokenPair } from '../../../core/sessions.ts';
import type { CheckOutcome, CheckReason, VerifiedKind } from '../../../core/verification.ts';
import type { HeaderRequest } from '../../check-lane.ts';
import { clientAddress, sendWire, type DialectContext, type HttpApp, type WireDialect, type WireReply } from '../../dialect.ts';
import { headerValue, pickLang, type Lang } from '../../lang.ts';
import { withPolicyHeaders } from '../../policy-headers.ts';
import { HOSTER_CODES, type HosterCode } from './codes.ts';
import { hosterError, hosterFailure, hosterOk } from './envelope.ts';
import { createSchema, infoAccessSchema, infoRefreshSchema, refreshSchema } from './schemas.ts';

const CREATE_FAILURES: Record<CreateTokensFailure, HosterCode> = {
  invalid_keys: 'invalid_keys',
  key_expired: 'keys_expired',
  key_revoked: 'keys_revoked',
  service_account_disabled: 'service_account_disabled',
  account_disabled: 'account_disabled',
  quota_exceeded: 'token_limit_exceeded',
};

const CHECK_FAILURES: Record<CheckReason, HosterCode> = {
  invalid: 'access_token_not_found',
  expired: 'access_token_expired',
  revoked: 'access_token_not_found',
  account_disabled: 'access_token_not_found',
  // A live token refused by a rule of its key (docs/policies.md).
  rate_limited: 'rate_limited',
  credits_exhausted: 'credits_exhausted',
  ip_denied: 'ip_denied',
  scope_missing: 'scope_missing',
};

/** `/token/info/access` takes service-account access tokens (JWTs) only. */
const CHECKED: readonly VerifiedKind[] = ['service_access'];

const REFRESH_FAILURES: Record<RefreshFailure, HosterCode> = {
  invalid_refresh_token: 'refresh_token_not_found',
  refresh_token_reused: 'refresh_token_not_found',
  refresh_token_expired: 'refresh_token_expired',
  account_disabled: 'account_disabled',
  client_revoked: 'refresh_token_not_found',
  client_expired: 'refresh_token_expired',
};

/** The trimmed value of a header, or null when it is absent or empty. */
function headerOf(request: Pick<FastifyRequest, 'headers'>, name: string): string | null {
  const value = headerValue(request.headers[name])?.trim();
  return value ? value : null;
}

/** `X-User-Id`: the account's numeric id; 'missing' or 'invalid' otherwise. */
function userIdOf(request: Pick<FastifyRequest, 'headers'>): number | 'missing' | 'invalid' {
  const raw = headerOf(request, 'x-user-id');
  if (raw === null) return 'missing';
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1) return 'invalid';
  return Number(raw);
}

/** The pair's payload: the three fields clients grep for appear once each, on their own line. */
function pairPayload(pair: TokenPair): Record<string, unknown> {
  return {
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    userId: pair.session.accountId,
    dateExpires: toUnixSeconds(pair.accessExpiresAt),
  };
}

const DESCRIPTION = {
  create: 'Headers `Access-Key`, `Secret-Key` (names case-insensitive); any body is ignored. Answers `accessToken` (JWT), `refreshToken`, `userId`, `dateExpires` (unix seconds, access-token expiry).',
  refresh: 'Headers `X-User-Id`, `Refresh-Token`; any body is ignored. Both tokens are replaced; the presented refresh token stops working. PATCH, or POST.',
  infoAccess: 'Header `Access-Token` (the JWT), `X-User-Id` optional. Answers `userId`, `dateExpires`, `actions`.',
  infoRefresh: 'Headers `X-User-Id`, `Refresh-Token`. Answers `userId`, `dateExpires` of the refresh token.',
};

async function register(app: HttpApp, { core, lane }: DialectContext): Promise<void> {
  const service = core.serviceAccounts;

  async function create(request: FastifyRequest, reply: FastifyReply, lang: Lang): Promise<FastifyReply> {
    const accessKey = headerOf(request, 'access-key');
    if (accessKey === null) return sendWire(reply, hosterError('access_key_missing', lang));
    const secretKey = headerOf(request, 'secret-key');
    if (secretKey === null) return sendWire(reply, hosterError('secret_key_missing', lang));
    const outcome = await service.createTokens({ accessKey, secretKey }, { address: clientAddress(request) });
    if (!outcome.ok) {
      const extra = outcome.retryAfterSeconds !== undefined ? { retryAfterSeconds: outcome.retryAfterSeconds } : {};
      return sendWire(reply, hosterError(CREATE_FAILURES[outcome.code], lang, extra));
    }
    return sendWire(reply, hosterOk('create_token_success', pairPayload(outcome.pair), lang));
  }

  async function refresh(request: FastifyRequest, reply: FastifyReply, lang: Lang): Promise<FastifyReply> {
    const token = headerOf(request, 'refresh-token');
    if (token === null) return sendWire(reply, hosterError('refresh_token_missing', lang));
    const userId = userIdOf(request);
    if (userId === 'missing') return sendWire(reply, hosterError('user_id_missing', lang));
    if (userId === 'invalid') return sendWire(reply, hosterError('user_id_invalid', lang));
    const outcome = await service.refresh(token, { userId }, { address: clientAddress(request) });
    if (!outcome.ok) return sendWire(reply, hosterError(REFRESH_FAILURES[outcome.code], lang));
    return sendWire(reply, hosterOk('refresh_token_success', pairPayload(outcome.pair), lang));
  }

  /** A check answered from the verification cache is answered in this turn, without a promise. */
  function infoAccess(request: HeaderRequest): WireReply | Promise<WireReply> {
    const lang = pickLang(request.headers);
    const token = headerOf(request, 'access-token');
    if (token === null) return hosterError('access_token_missing', lang);
    // Later API calls may send Access-Token alone: X-User-Id is checked only when sent.
    const userId = userIdOf(request);
    if (userId === 'invalid') return hosterError('user_id_invalid', lang);
    const outcome = core.verification.checkNow(token, { accept: CHECKED, address: request.address });
    return outcome instanceof Promise ? outcome.then((o) => accessInfo(o, userId, lang)) : accessInfo(outcome, userId, lang);
  }

  function accessInfo(outcome: CheckOutcome, userId: number | 'missing', lang: Lang): WireReply {
    if (!outcome.ok) return withPolicyHeaders(hosterError(CHECK_FAILURES[outcome.reason], lang), outcome);
    const { identity } = outcome;
    if (userId !== 'missing' && userId !== identity.accountId) return hosterError('user_id_mismatch', lang);
    return withPolicyHeaders(
      hosterOk(
        'access_token_info_success',
        { userId: identity.accountId, dateExpires: toUnixSeconds(identity.expiresAt!), actions: identity.scope.split(' ').filter(Boolean) },
        lang,
      ),
      outcome,
    );
  }

  async function infoRefresh(request: FastifyRequest, reply: FastifyReply, lang: Lang): Promise<FastifyReply> {
    const token = headerOf(request, 'refresh-token');
    if (token === null) return sendWire(reply, hosterError('refresh_token_missing', lang));
    const userId = userIdOf(request);
    if (userId === 'missing') return sendWire(reply, hosterError('user_id_missing', lang));
    if (userId === 'invalid') return sendWire(reply, hosterError('user_id_invalid', lang));
    const outcome = await service.refreshInfo(token, { userId });
    if (!outcome.ok) return sendWire(reply, hosterError(outcome.code === 'refresh_token_expired' ? 'refresh_token_expired' : 'refresh_token_not_found', lang));
    return sendWire(
      reply,
      hosterOk('refresh_token_info_success', { userId: outcome.session.accountId, dateExpires: toUnixSeconds(outcome.expiresAt) }, lang),
    );
  }

  const handle =
    (fn: (request: FastifyRequest, reply: FastifyReply, lang: Lang) => Promise<FastifyReply>) =>
    (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
      fn(request, reply, pickLang(request.headers));

  app.register(async (scope: HttpApp) => {
    // Bodies are ignored whatever they are (empty JSON included): read only to enforce the size limit.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => done(null, undefined));
    scope.post(
      '/service/account/create/token',
      { schema: { ...createSchema, summary: 'Create service-account tokens: Access Key + Secret Key -> JWT access token + refresh token', description: DESCRIPTION.create } },
      handle(create),
    );
    scope.route({
      method: ['PATCH', 'POST'],
      url: '/token/refresh',
      schema: { ...refreshSchema, summary: 'Refresh both tokens', description: DESCRIPTION.refresh },
      handler: handle(refresh),
    });
    lane.route(scope, '/token/info/access', { ...infoAccessSchema, summary: 'Access token info: user, expiry, actions', description: DESCRIPTION.infoAccess }, infoAccess);
    scope.get(
      '/token/info/refresh',
      { schema: { ...infoRefreshSchema, summary: 'Refresh token info: user, expiry', description: DESCRIPTION.infoRefresh } },
      handle(infoRefresh),
    );
  });
}

export const hosterDialect: WireDialect = {
  name: 'hoster',
  prefixes: ['/service/', '/token/'],
  codes: HOSTER_CODES,
  renderFailure: hosterFailure,
  register,
};
