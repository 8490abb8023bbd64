/**
 * The cabinet API (`/api/cabinet/…`): what a signed-in account sees and does in the console.
 * Sign-in is email + password (LoginGuard limits of tokens.make, none of its quota); everything
 * else needs the sign-in cookie, and every state change the CSRF token as well.
 */
import { Type } from '@sinclair/typebox';
import { DAY_MS } from '../../../core/clock.ts';
import type { Core } from '../../../core/tokend.ts';
import { sendWire, type HttpApp } from '../../dialect.ts';
import {
  accountOf,
  authOf,
  CABINET_COOKIE,
  clearSessionCookie,
  consoleContext,
  fromOwnOrigin,
  requireConsoleSession,
  setSessionCookie,
  SIGN_IN_FAILURES,
} from '../console-auth.ts';
import { readResponses, signInResponses, writeResponses } from '../console-responses.ts';
import { AppList, AppView, AuditPage, MeView, Revoked, RevokedAll, SessionList, SignedIn, SignedOut, UsageView } from '../console-schemas.ts';
import { nativeError } from '../envelope.ts';
import { AppBody, NoBody, Strict, StringIdParams } from '../inputs.ts';
import { registerCabinetApiTokens } from './api-tokens.ts';
import { registerCabinetClientAdvice } from './client-advice.ts';
import { registerCabinetTokenUsage } from '../token-usage.ts';
import { registerCabinetPolicies } from '../policies.ts';
import { registerCabinetServiceAccounts } from './service-accounts.ts';
import { registerCabinetPassword, registerCabinetPasswordReset } from './password.ts';
import { RECORD_ID_PATTERN } from '../ids.ts';
import { accountView, appView, auditView, sessionView } from '../views.ts';
import { revokedOr } from '../answers.ts';

const SignInBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254, examples: ['demo@tokend.dev'] }),
    password: Type.String({ minLength: 1, maxLength: 1024, examples: ['demo-password'] }),
  },
  Strict,
);
const SessionParams = StringIdParams;
const ActivityQuery = Type.Object(
  {
    type: Type.Optional(Type.String({ pattern: '^[a-z_.]{1,64}$' })),
    before: Type.Optional(Type.String({ pattern: RECORD_ID_PATTERN })),
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })),
  },
  Strict,
);
const UsageQuery = Type.Object({ days: Type.Optional(Type.String({ pattern: '^[1-9][0-9]?$' })) }, Strict);

const SessionsQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}_[0-9a-fA-F-]{1,64}$', description: 'The `nextCursor` of the previous page.' })),
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: 'Page size, at most 200 (default 50).' })),
  },
  Strict,
);
const SESSIONS_PAGE = 50;
const SESSIONS_PAGE_MAX = 200;

/** The account view, where the admin API has long imported it from. */
export { accountView };

export async function registerCabinet(app: HttpApp, core: Core): Promise<void> {
  const { config } = core;

  app.post(
    '/api/cabinet/session',
    {
      schema: {
        tags: ['cabinet'],
        summary: 'Sign in with email and password (sets the session cookie)',
        body: SignInBody,
        response: signInResponses(SignedIn, ['account_disabled']),
      },
    },
    async (request, reply) => {
      // Login CSRF: a foreign page must not sign the browser in to someone else's account.
      if (!fromOwnOrigin(request)) return sendWire(reply, nativeError('csrf_failed'));
      const body = request.body;
      const outcome = await core.console.signInAccount(body, consoleContext(request));
      if (!outcome.ok) {
        const extra = outcome.retryAfterSeconds !== undefined ? { retryAfterSeconds: outcome.retryAfterSeconds } : {};
        return sendWire(reply, nativeError(SIGN_IN_FAILURES[outcome.code], extra));
      }
      setSessionCookie(reply, request, CABINET_COOKIE, outcome.token, config.consoleSessionLifetime);
      return {
        account: accountView(outcome.account!),
        csrfToken: core.console.csrfToken(outcome.token),
        session: { createdAt: outcome.session.createdAt, expiresAt: outcome.session.expiresAt, idleTimeoutMs: core.console.idleTimeoutMs },
      };
    },
  );

  await registerCabinetPasswordReset(app, core);

  await app.register(async (authed: HttpApp) => {
    // onRequest, before the body is even read: without a sign-in, nothing else is looked at.
    authed.addHook('onRequest', requireConsoleSession(core, 'account', CABINET_COOKIE));
    await registerCabinetPassword(authed, core);

    authed.get('/api/cabinet/me', { schema: { tags: ['cabinet'], summary: 'The signed-in account and its CSRF token', response: readResponses(MeView) } }, async (request) => {
      const { auth, token } = authOf(request)!;
      return {
        account: accountView(auth.account!),
        csrfToken: core.console.csrfToken(token),
        session: { createdAt: auth.session.createdAt, expiresAt: auth.session.expiresAt, idleTimeoutMs: core.console.idleTimeoutMs },
        limits: { dailyMakeLimit: config.chatappDailyMakeLimit },
      };
    });

    authed.delete('/api/cabinet/session', { schema: { tags: ['cabinet'], summary: 'Sign out', response: writeResponses(200, SignedOut) } }, async (request, reply) => {
      await core.console.signOut(authOf(request)!.auth, consoleContext(request));
      clearSessionCookie(reply, request, CABINET_COOKIE);
      return { signedOut: true };
    });

    authed.get('/api/cabinet/apps', { schema: { tags: ['cabinet'], summary: 'Apps of the account (their appId)', response: readResponses(AppList) } }, async (request) => {
      const apps = await core.accounts.listApps(accountOf(request).id);
      return { items: apps.map(appView) };
    });

    authed.post(
      '/api/cabinet/apps',
      { schema: { tags: ['cabinet'], summary: 'Register an app; its appId is generated', body: AppBody, response: writeResponses(201, AppView) } },
      async (request, reply) => {
        const { name } = request.body;
        const created = await core.accounts.createApp({ accountId: accountOf(request).id, name }, consoleContext(request));
        return reply.code(201).send(appView(created));
      },
    );

    authed.get('/api/cabinet/sessions', {
      schema: {
        tags: ['cabinet'],
        summary: 'Active sessions (token families), newest first, a page at a time',
        querystring: SessionsQuery,
        response: readResponses(SessionList),
      },
    }, async (request) => {
      const { cursor, limit: asked } = request.query;
      const limit = Math.min(Number(asked ?? SESSIONS_PAGE), SESSIONS_PAGE_MAX);
      const split = cursor?.indexOf('_') ?? -1;
      const before = cursor && split > 0 ? { createdAt: Number(cursor.slice(0, split)), id: cursor.slice(split + 1) } : undefined;
      const { items, total } = await core.sessions.listActivePage(accountOf(request).id, { limit, ...(before ? { before } : {}) });
      const last = items.at(-1);
      return { items: items.map(sessionView), total, nextCursor: items.length === limit && last ? `${last.createdAt}_${last.id}` : null };
    });

    authed.post(
      '/api/cabinet/sessions/revoke-all',
      {
        schema: {
          tags: ['cabinet'],
          summary: 'Revoke every session of the account: all its access and refresh tokens stop working (console sign-ins stay)',
          body: NoBody,
          response: writeResponses(200, RevokedAll),
        },
      },
      async (request) => ({ revoked: await core.sessions.revokeAllOf(accountOf(request).id, consoleContext(request), 'revoked_in_console') }),
    );

    authed.post(
      '/api/cabinet/sessions/:id/revoke',
      {
        schema: {
          tags: ['cabinet'],
          summary: 'Revoke a session: its access and refresh tokens stop working',
          params: SessionParams,
          body: NoBody,
          response: writeResponses(200, Revoked, ['not_found']),
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        return revokedOr(reply, await core.sessions.revoke(id, consoleContext(request), 'revoked_in_console', { accountId: accountOf(request).id }), 'not_found');
      },
    );

    authed.get(
      '/api/cabinet/activity',
      {
        schema: {
          tags: ['cabinet'],
          summary: 'The audit log of the account, newest first',
          querystring: ActivityQuery,
          response: readResponses(AuditPage),
        },
      },
      async (request) => {
        const q = request.query;
        const limit = Math.min(Number(q.limit ?? 50), 200);
        const events = await core.accounts.activity(accountOf(request).id, {
          limit,
          ...(q.type ? { type: q.type } : {}),
          ...(q.before ? { before: Number(q.before) } : {}),
        });
        return { items: events.map(auditView), nextBefore: events.length === limit ? events[events.length - 1]!.id : null };
      },
    );

    authed.get(
      '/api/cabinet/usage',
      {
        schema: {
          tags: ['cabinet'],
          summary: "Today's tokens.make per app against the daily limit; token checks per day",
          querystring: UsageQuery,
          response: readResponses(UsageView),
        },
      },
      async (request) => {
        const account = authOf(request)!.auth.account!;
        const days = Math.min(Number(request.query.days ?? 14), 31);
        const apps = await core.accounts.listApps(account.id);
        const makes = await Promise.all(
          apps.map(async (a) => ({ appId: a.appId, name: a.name, used: (await core.accounts.makesToday(account, a.appId)).used })),
        );
        const now = core.clock.now();
        return {
          dailyMakeLimit: config.chatappDailyMakeLimit,
          resetsAt: Math.floor(now / DAY_MS) * DAY_MS + DAY_MS,
          apps: makes,
          checks: await core.usage.checksPerDay(account.id, days),
        };
      },
    );

    await registerCabinetApiTokens(authed, core);
    await registerCabinetClientAdvice(authed, core);
    await registerCabinetTokenUsage(authed, core);
    await registerCabinetPolicies(authed, core);
    await registerCabinetServiceAccounts(authed, core);
    await (await import('./webhooks.ts')).registerCabinetWebhooks(authed, core);
  });
}
