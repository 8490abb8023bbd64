/**
 * Organisation API tokens in the admin API (v3, l3, native): an account's tokens (hints only),
 * create, read, rotate with a grace period, revoke. A new token is in its create or rotate
 * response only. The expiry rules of the instance and the account apply (docs/policies.md), as
 * they do in the cabinet and the CLI: core's ApiTokenService decides.
 */
import { Type, type Static } from '@sinclair/typebox';
import { MAX_ROTATION_GRACE_MS } from '../../../core/api-tokens.ts';
import type { ApiToken } from '../../../core/model.ts';
import type { Core } from '../../../core/tokend.ts';
import { sendWire, type HttpApp } from '../../dialect.ts';
import { consoleContext } from '../console-auth.ts';
import { Revoked } from '../console-schemas.ts';
import { nativeError } from '../envelope.ts';
import { keysetPage, PageQueryProps } from '../paging.ts';
import { apiTokenView } from '../views.ts';
import { AccountParams, accountRoute, adminRead, adminWrite, Duration, durationMs, isTimeAndStringId, lifetimeMs, namingField } from './records-common.ts';
import { ApiTokenFormat, NoBody, Strict, StringIdParams } from '../inputs.ts';
import { AdminApiTokenPage, AdminApiTokenView, AdminNewApiToken, AdminRotatedApiToken } from './records-schemas.ts';
import { notFound, revokedOr, viewOrNotFound } from '../answers.ts';
import { adminRoute } from './access.ts';

const Format = { ...ApiTokenFormat, description: 'Default v3.' };
const Status = Type.Union([Type.Literal('active'), Type.Literal('grace'), Type.Literal('replaced'), Type.Literal('revoked'), Type.Literal('expired')]);
const TokenParams = StringIdParams;
const ListQuery = Type.Object({ status: Type.Optional(Status), ...PageQueryProps }, Strict);
const CreateBody = Type.Object(
  {
    format: Type.Optional(Format),
    label: Type.Optional(Type.String({ maxLength: 200 })),
    expiresIn: Type.Optional(Duration('Lifetime. Absent: no expiry, unless the expiry rules require one.')),
  },
  Strict,
);
const RotateBody = Type.Object({ grace: Type.Optional(Duration('How long the old token keeps working (default `0s`: it stops at once; at most 30d).')) }, Strict);

export function adminApiTokenView(t: ApiToken, now: number): Static<typeof AdminApiTokenView> {
  return { ...apiTokenView(t, now), accountId: t.accountId };
}

export async function registerAdminApiTokens(app: HttpApp, core: Core): Promise<void> {
  const tokens = core.apiTokens;

  accountRoute(
    app,
    core,
    'GET',
    '/api/admin/accounts/:id/api-tokens',
    adminRoute('tokens:read', {
      summary: "An account's API tokens (hints only), newest first; status filters",
      params: AccountParams,
      querystring: ListQuery,
      response: adminRead(AdminApiTokenPage, ['not_found']),
    }),
    async (account, request) => {
      const { status } = request.query;
      const now = core.clock.now();
      return keysetPage(
        request.query,
        isTimeAndStringId,
        (limit, before) => tokens.pageByAccount(account.id, { limit, ...(status ? { status } : {}), ...(before ? { before: { createdAt: before[0], id: before[1] } } : {}) }),
        (t) => adminApiTokenView(t, now),
        (t) => [t.createdAt, t.id],
      );
    },
  );

  accountRoute(
    app,
    core,
    'POST',
    '/api/admin/accounts/:id/api-tokens',
    adminRoute('tokens:write', {
      summary: 'Create an API token of an account; the token is in this response only',
      params: AccountParams,
      body: CreateBody,
      response: adminWrite(201, AdminNewApiToken, ['not_found']),
    }, { idempotent: true }),
    async (account, request, reply) => {
      const { format, label, expiresIn } = request.body;
      const now = core.clock.now();
      const created = await namingField(
        tokens.create(
          {
            accountId: account.id,
            ...(format ? { format } : {}),
            label: label ?? null,
            expiresAt: expiresIn === undefined ? null : now + lifetimeMs(expiresIn, 'expiresIn'),
          },
          consoleContext(request),
        ),
        'expiresAt',
        'expiresIn',
      );
      return reply.code(201).send({ ...adminApiTokenView(created.apiToken, now), token: created.token });
    },
  );

  app.get(
    '/api/admin/api-tokens/:id',
    adminRoute('tokens:read', { summary: 'An API token (its hint, never the token)', params: TokenParams, response: adminRead(AdminApiTokenView, ['not_found']) }),
    async (request, reply) => viewOrNotFound(reply, await tokens.get(request.params.id), (token) => adminApiTokenView(token, core.clock.now())),
  );

  app.post(
    '/api/admin/api-tokens/:id/rotate',
    adminRoute('tokens:write', {
      summary: 'Replace an API token; the old one keeps working for `grace` (default 0s: it stops at once)',
      params: TokenParams,
      body: RotateBody,
      response: adminWrite(201, AdminRotatedApiToken, ['not_found', 'not_active']),
    }, { idempotent: true }),
    async (request, reply) => {
      const { grace } = request.body;
      const graceMs = grace === undefined ? 0 : durationMs(grace, 'grace', MAX_ROTATION_GRACE_MS);
      const outcome = await tokens.rotate(request.params.id, { graceMs }, consoleContext(request));
      if (!outcome.ok) return sendWire(reply, nativeError(outcome.code));
      const now = core.clock.now();
      return reply.code(201).send({
        ...adminApiTokenView(outcome.created.apiToken, now),
        token: outcome.created.token,
        previous: adminApiTokenView(outcome.previous, now),
      });
    },
  );

  app.post(
    '/api/admin/api-tokens/:id/revoke',
    adminRoute('tokens:write', {
      summary: 'Revoke an API token: checks with it fail from now on',
      params: TokenParams,
      body: NoBody,
      response: adminWrite(200, Revoked, ['not_found', 'not_active']),
    }),
    async (request, reply) => {
      const token = await tokens.get(request.params.id);
      if (!token) return notFound(reply);
      return revokedOr(reply, await tokens.revoke(token.id, consoleContext(request)), 'not_active');
    },
  );
}
