/**
 * The admin API (`/api/admin/…`) for the operator: accounts, signing keys, instance settings.
 * Authenticated by the admin token, either as `Authorization: Bearer …` (scripts; no cookie, so
 * no CSRF exposure) or through an operator console sign-in (cookie + CSRF token, like the cabinet).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { formatDuration } from '../../../config/parsers.ts';
import { SETTINGS, type SettingName } from '../../../config/schema.ts';
import type { Core } from '../../../core/tokend.ts';
import { sendWire, type HttpApp } from '../../dialect.ts';
import { headerValue } from '../../lang.ts';
import { accountView } from '../cabinet/index.ts';
import {
  authOf,
  clearSessionCookie,
  consoleContext,
  fromOwnOrigin,
  OPERATOR_COOKIE,
  requireConsoleSession,
  setSessionCookie,
  SIGN_IN_FAILURES,
} from '../console-auth.ts';
import { readResponses, signInResponses, writeResponses } from '../console-responses.ts';
import { AccountPage, AccountView, OperatorMe, OperatorSignedIn, SettingsView, SettingView, SignedOut } from '../console-schemas.ts';
import { nativeError } from '../envelope.ts';
import { registerAdminSigningKeys } from './signing-keys.ts';
import { registerAdminTokenUsage } from '../token-usage.ts';
import { registerAdminPolicies } from '../policies.ts';
import { RECORD_ID_PATTERN } from '../ids.ts';

const Strict = { additionalProperties: false } as const;
const NoBody = Type.Object({}, Strict);
const SignInBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 4096 }) }, Strict);
const AccountParams = Type.Object({ id: Type.String({ pattern: RECORD_ID_PATTERN }) }, Strict);
const AccountsQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 254 })),
    before: Type.Optional(Type.String({ pattern: RECORD_ID_PATTERN })),
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })),
  },
  Strict,
);
const CreateAccountBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
  },
  Strict,
);

/** A Bearer call with a wrong admin token counts towards the per-address limit: 429 once reached. */
const BEARER = ['too_many_attempts'] as const;

/** Settings as the console shows them: secrets only say whether they are set. */
export function settingsView(core: Core): Static<typeof SettingView>[] {
  const config = core.config as Record<SettingName, unknown>;
  return (Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]).map(([name, s]) => {
    const value = config[name];
    const secret = 'secret' in s && s.secret === true;
    const isDuration = s.parser.describe.startsWith('duration');
    return {
      name,
      env: s.env,
      secret,
      value: secret ? null : isDuration && typeof value === 'number' ? formatDuration(value) : String(value),
      set: secret ? value !== '' && value !== undefined : undefined,
      isDefault: value === s.default,
      default: s.defaultText,
      doc: s.doc,
    };
  });
}

export async function registerAdmin(app: HttpApp, core: Core): Promise<void> {
  const { config } = core;
  const cookieSession = requireConsoleSession(core, 'operator', OPERATOR_COOKIE);

  async function operatorOnly(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const authorization = headerValue(request.headers.authorization);
    if (authorization === undefined) return cookieSession(request, reply);
    const m = /^Bearer\s+(\S{1,4096})$/i.exec(authorization.trim());
    if (!m) return sendWire(reply, nativeError('unauthenticated'));
    const checked = await core.console.verifyOperatorToken(m[1]!, consoleContext(request));
    if (checked.ok) return undefined;
    if (checked.code === 'too_many_attempts') return sendWire(reply, nativeError('too_many_attempts', { retryAfterSeconds: checked.retryAfterSeconds ?? 60 }));
    return sendWire(reply, nativeError('unauthenticated'));
  }

  app.post(
    '/api/admin/session',
    {
      schema: {
        tags: ['admin'],
        summary: 'Operator console sign-in with the admin token (sets the session cookie)',
        body: SignInBody,
        response: signInResponses(OperatorSignedIn),
      },
    },
    async (request, reply) => {
      if (!fromOwnOrigin(request)) return sendWire(reply, nativeError('csrf_failed'));
      const { token } = request.body;
      const outcome = await core.console.signInOperator(token.trim(), consoleContext(request));
      if (!outcome.ok) {
        const extra = outcome.retryAfterSeconds !== undefined ? { retryAfterSeconds: outcome.retryAfterSeconds } : {};
        return sendWire(reply, nativeError(SIGN_IN_FAILURES[outcome.code], extra));
      }
      setSessionCookie(reply, request, OPERATOR_COOKIE, outcome.token, config.consoleSessionLifetime);
      return {
        csrfToken: core.console.csrfToken(outcome.token),
        session: { createdAt: outcome.session.createdAt, expiresAt: outcome.session.expiresAt, idleTimeoutMs: core.console.idleTimeoutMs },
      };
    },
  );

  await app.register(async (authed: HttpApp) => {
    authed.addHook('onRequest', operatorOnly);

    authed.get('/api/admin/me', { schema: { tags: ['admin'], summary: 'The operator sign-in and its CSRF token', response: readResponses(OperatorMe, [...BEARER]) } }, async (request) => {
      const signedIn = authOf(request);
      return {
        operator: true,
        csrfToken: signedIn ? core.console.csrfToken(signedIn.token) : null,
        session: signedIn
          ? { createdAt: signedIn.auth.session.createdAt, expiresAt: signedIn.auth.session.expiresAt, idleTimeoutMs: core.console.idleTimeoutMs }
          : null,
        database: core.databaseKind,
      };
    });

    authed.delete('/api/admin/session', { schema: { tags: ['admin'], summary: 'Sign the operator out of the console', response: writeResponses(200, SignedOut, [...BEARER]) } }, async (request, reply) => {
      const signedIn = authOf(request);
      if (signedIn) await core.console.signOut(signedIn.auth, consoleContext(request));
      clearSessionCookie(reply, request, OPERATOR_COOKIE);
      return { signedOut: true };
    });

    authed.get(
      '/api/admin/accounts',
      {
        schema: {
          tags: ['admin'],
          summary: 'Accounts, newest first; q filters by email',
          querystring: AccountsQuery,
          response: readResponses(AccountPage, [...BEARER]),
        },
      },
      async (request) => {
        const q = request.query;
        const limit = Math.min(Number(q.limit ?? 50), 200);
        const accounts = await core.accounts.list({
          limit,
          ...(q.before ? { beforeId: Number(q.before) } : {}),
          ...(q.q?.trim() ? { emailContains: q.q.trim() } : {}),
        });
        return { items: accounts.map(accountView), nextBefore: accounts.length === limit ? accounts[accounts.length - 1]!.id : null };
      },
    );

    authed.post(
      '/api/admin/accounts',
      {
        schema: {
          tags: ['admin'],
          summary: 'Create an account (email + password)',
          body: CreateAccountBody,
          response: writeResponses(201, AccountView, [...BEARER]),
        },
      },
      async (request, reply) => {
        const body = request.body;
        const created = await core.accounts.create(
          { email: body.email, password: body.password, name: body.name?.trim() || null },
          consoleContext(request),
        );
        return reply.code(201).send(accountView(created));
      },
    );

    for (const [action, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
      authed.post(
        `/api/admin/accounts/:id/${action}`,
        {
          schema: {
            tags: ['admin'],
            summary: action === 'disable' ? 'Disable an account: its logins, refreshes and checks fail' : 'Re-enable a disabled account',
            params: AccountParams,
            body: NoBody,
            response: writeResponses(200, AccountView, ['not_found', ...BEARER]),
          },
        },
        async (request, reply) => {
          const id = Number(request.params.id);
          const account = await core.accounts.setStatus(id, status, consoleContext(request));
          if (!account) return sendWire(reply, nativeError('not_found'));
          return accountView(account);
        },
      );
    }

    authed.get('/api/admin/settings', { schema: { tags: ['admin'], summary: 'Instance settings, read-only, without secrets', response: readResponses(SettingsView, [...BEARER]) } }, async () => ({
      database: core.databaseKind,
      items: settingsView(core),
    }));

    await registerAdminSigningKeys(authed, core);
    await registerAdminTokenUsage(authed, core);
    await registerAdminPolicies(authed, core);
  });
}
