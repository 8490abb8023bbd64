/**
 * ChatApp dialect: tokens.make, tokens.refresh, tokens.check.
 * Parses the wire, calls core, writes the wire; nothing else.
 */
import type { LoginFailure } from '../../../core/accounts.ts';
import { toUnixSeconds } from '../../../core/clock.ts';
import type { RefreshFailure } from '../../../core/sessions.ts';
import type { CheckOutcome, CheckReason, VerifiedKind } from '../../../core/verification.ts';
import type { HeaderRequest } from '../../check-lane.ts';
import { clientAddress, sendWire, type DialectContext, type HttpApp, type WireDialect, type WireReply } from '../../dialect.ts';
import { headerValue, pickLang, type Lang } from '../../lang.ts';
import { withPolicyHeaders } from '../../policy-headers.ts';
import { CHATAPP_CODES, type ChatappCode } from './codes.ts';
import { chatappError, chatappFailure, chatappOk } from './envelope.ts';
import { checkSchema, makeSchema, refreshSchema } from './schemas.ts';

const LOGIN_FAILURES: Record<LoginFailure, ChatappCode> = {
  invalid_credentials: 'ApiInvalidCredentialsError',
  too_many_attempts: 'ApiTooManyAttemptsError',
  quota_exceeded: 'ApiTokensLimitError',
  account_disabled: 'ApiAccountDisabledError',
  app_not_found: 'ApiAppNotFoundError',
};

/** ChatApp tells its clients nothing about why a token failed. */
const CHECK_FAILURES: Record<CheckReason, ChatappCode> = {
  invalid: 'ApiInvalidTokenError',
  expired: 'ApiInvalidTokenError',
  revoked: 'ApiInvalidTokenError',
  account_disabled: 'ApiInvalidTokenError',
  // A live token refused by a rule of its app (docs/policies.md).
  rate_limited: 'ApiRateLimitError',
  credits_exhausted: 'ApiCreditsExhaustedError',
  ip_denied: 'ApiIpDeniedError',
  scope_missing: 'ApiScopeMissingError',
};

/** `/v1/tokens/check` takes ChatApp access tokens only. */
const CHECKED: readonly VerifiedKind[] = ['access'];

const REFRESH_FAILURES: Record<RefreshFailure, ChatappCode> = {
  invalid_refresh_token: 'ApiInvalidRefreshTokenError',
  refresh_token_reused: 'ApiInvalidRefreshTokenError',
  refresh_token_expired: 'ApiRefreshTokenExpiredError',
  account_disabled: 'ApiAccountDisabledError',
  client_revoked: 'ApiInvalidRefreshTokenError',
  client_expired: 'ApiRefreshTokenExpiredError',
};

/** `Authorization: <token>` raw, as ChatApp documents it; `Bearer <token>` is accepted too. */
function accessTokenOf(headers: HeaderRequest['headers']): string | null {
  const raw = headerValue(headers.authorization)?.trim();
  if (!raw) return null;
  return /^bearer\s+/i.test(raw) ? raw.replace(/^bearer\s+/i, '').trim() : raw;
}

async function register(app: HttpApp, { core, lane }: DialectContext): Promise<void> {
  app.register(async (make: HttpApp) => {
    // tokens.make takes JSON or a form, as ChatApp's does; anything else is 415, not a guess.
    make.removeContentTypeParser('text/plain');
    make.post(
      '/v1/tokens',
      { schema: makeSchema },
      async (request, reply) => {
        const body = request.body;
        const lang = pickLang(request.headers);
        const outcome = await core.accounts.passwordLogin(body, { address: clientAddress(request) });
        if (!outcome.ok) {
          const extra = outcome.retryAfterSeconds !== undefined ? { retryAfterSeconds: outcome.retryAfterSeconds } : {};
          return sendWire(reply, chatappError(LOGIN_FAILURES[outcome.code], lang, extra));
        }
        const { pair, account } = outcome;
        return sendWire(
          reply,
          chatappOk({
            cabinetUserId: account.id,
            accessToken: pair.accessToken,
            accessTokenEndTime: toUnixSeconds(pair.accessExpiresAt),
            refreshToken: pair.refreshToken,
            refreshTokenEndTime: toUnixSeconds(pair.refreshExpiresAt),
          }),
        );
      },
    );
  });

  app.register(async (refresh: HttpApp) => {
    // The refresh body is ignored, whatever it is (clients send none, an empty form, or `[]` as JSON):
    // read it only to enforce the size limit, never parse it.
    refresh.removeAllContentTypeParsers();
    refresh.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => done(null, undefined));
    refresh.post(
      '/v1/tokens/refresh',
      { schema: refreshSchema },
      async (request, reply) => {
        const lang = pickLang(request.headers);
        const token = headerValue(request.headers['refresh'])?.trim();
        if (!token) return sendWire(reply, chatappError('ApiInvalidRefreshTokenError', lang));
        const outcome = await core.sessions.refresh(token, 'chatapp', { address: clientAddress(request) });
        if (!outcome.ok) return sendWire(reply, chatappError(REFRESH_FAILURES[outcome.code], lang));
        const { pair } = outcome;
        return sendWire(
          reply,
          chatappOk({
            cabinetUserId: pair.session.accountId,
            accessToken: pair.accessToken,
            accessTokenEndTime: toUnixSeconds(pair.accessExpiresAt),
            refreshToken: pair.refreshToken,
            refreshTokenEndTime: toUnixSeconds(pair.refreshExpiresAt),
          }),
        );
      },
    );
  });

  /** A check answered from the cache is answered in this turn, without a promise. */
  lane.route(app, '/v1/tokens/check', checkSchema, (request) => {
    const lang = pickLang(request.headers);
    const token = accessTokenOf(request.headers);
    if (!token) return chatappError('ApiInvalidTokenError', lang);
    const outcome = core.verification.checkNow(token, { accept: CHECKED, address: request.address });
    return outcome instanceof Promise ? outcome.then((o) => answerCheck(o, lang)) : answerCheck(outcome, lang);
  });
}

function answerCheck(outcome: CheckOutcome, lang: Lang): WireReply {
  if (!outcome.ok) return withPolicyHeaders(chatappError(CHECK_FAILURES[outcome.reason], lang), outcome);
  const { identity } = outcome;
  return withPolicyHeaders(
    chatappOk({
      cabinetUserId: identity.accountId,
      appId: identity.clientId,
      accessTokenEndTime: toUnixSeconds(identity.expiresAt!),
    }),
    outcome,
  );
}

export const chatappDialect: WireDialect = {
  name: 'chatapp',
  prefixes: ['/v1/'],
  codes: CHATAPP_CODES,
  renderFailure: chatappFailure,
  register,
};
