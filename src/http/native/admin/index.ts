/**
 * The admin API (`/api/admin/…`, docs/admin-api.md) for the operator and the operator's systems.
 * Authenticated by the admin token or an operator key as `Authorization: Bearer …` (scripts; no
 * cookie, so no CSRF exposure), or through an operator console sign-in (cookie + CSRF token, like
 * the cabinet); each route declares the permission an operator key needs (src/http/native/admin/auth.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { RouteOptions } from 'fastify';
import { formatDuration } from '../../../config/parsers.ts';
import { SETTINGS, type SettingName } from '../../../config/schema.ts';
import type { Core } from '../../../core/tokend.ts';
import { sendWire, type HttpApp } from '../../dialect.ts';
import { authOf, clearSessionCookie, consoleContext, fromOwnOrigin, OPERATOR_COOKIE, setSessionCookie, SIGN_IN_FAILURES } from '../console-auth.ts';
import { readResponses, signInResponses, writeResponses } from '../console-responses.ts';
import { OperatorMe, OperatorSignedIn, SettingsView, SettingView, SignedOut } from '../console-schemas.ts';
import { nativeError } from '../envelope.ts';
import { registerAdminRecords } from './records.ts';
import { registerAdminTokenUsage } from '../token-usage.ts';
import { registerAdminPolicies } from '../policies.ts';
import { adminRoute, PERMISSIONS } from './access.ts';
import { registerAdminAccounts } from './accounts.ts';
import { checkAdminRoute, operatorOf, operatorOnly } from './auth.ts';
import { documentIdempotency, registerIdempotency } from './idempotency.ts';
import { registerAdminOperatorKeys } from './operator-keys.ts';
import { registerAdminSigningKeys } from './signing-keys.ts';

const Strict = { additionalProperties: false } as const;
const SignInBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 4096 }) }, Strict);

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

  app.post(
    '/api/admin/session',
    {
      // The one admin route outside the authentication hook: it takes the admin token itself, in
      // its body, under the same per-address limit on wrong credentials.
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
    // Before any route of this scope: each must declare its permission (src/http/native/admin/auth.ts).
    authed.addHook('onRoute', (route) => {
      checkAdminRoute(route as unknown as RouteOptions);
      documentIdempotency(route as unknown as RouteOptions);
    });
    authed.addHook('onRequest', operatorOnly(core));
    registerIdempotency(authed, core);

    authed.get(
      '/api/admin/me',
      adminRoute('any', { summary: 'Who is calling: the operator console sign-in (and its CSRF token), the admin token or an operator key', response: readResponses(OperatorMe) }),
      async (request) => {
        const signedIn = authOf(request);
        const operator = operatorOf(request);
        return {
          operator: true as const,
          credential:
            operator.kind === 'operator_key'
              ? { kind: operator.kind, id: operator.key.id, name: operator.key.name, permissions: [...operator.key.permissions] }
              : { kind: operator.kind, id: null, name: null, permissions: [...PERMISSIONS] },
          csrfToken: signedIn ? core.console.csrfToken(signedIn.token) : null,
          session: signedIn
            ? { createdAt: signedIn.auth.session.createdAt, expiresAt: signedIn.auth.session.expiresAt, idleTimeoutMs: core.console.idleTimeoutMs }
            : null,
          database: core.databaseKind,
        };
      },
    );

    authed.delete(
      '/api/admin/session',
      adminRoute('any', { summary: 'Sign the operator out of the console', response: writeResponses(200, SignedOut) }),
      async (request, reply) => {
        const signedIn = authOf(request);
        if (signedIn) await core.console.signOut(signedIn.auth, consoleContext(request));
        clearSessionCookie(reply, request, OPERATOR_COOKIE);
        return { signedOut: true };
      },
    );

    authed.get(
      '/api/admin/settings',
      adminRoute('settings:read', { summary: 'Instance settings, read-only, without secrets', response: readResponses(SettingsView) }),
      async () => ({ database: core.databaseKind, items: settingsView(core) }),
    );

    await registerAdminAccounts(authed, core);
    await registerAdminOperatorKeys(authed, core);
    await registerAdminSigningKeys(authed, core);
    await registerAdminRecords(authed, core);
    await registerAdminTokenUsage(authed, core);
    await registerAdminPolicies(authed, core);
    await (await import('./webhooks.ts')).registerAdminWebhooks(authed, core);
  });
}
