/**
 * API tokens in the cabinet, where Invoicebox clients expect to rotate them: list, create, rotate
 * (with an optional grace period), revoke. A new token is in the create/rotate response
 * only: never listed, never logged, never in a URL.
 */
import { Type } from '@sinclair/typebox';
import { MAX_ROTATION_GRACE_MS } from '../../../core/api-tokens.ts';
import { DAY_MS } from '../../../core/clock.ts';
import type { Core } from '../../../core/tokend.ts';
import { sendWire, type HttpApp } from '../../dialect.ts';
import { accountOf, consoleContext } from '../console-auth.ts';
import { readResponses, writeResponses } from '../console-responses.ts';
import { ApiTokenList, NewApiToken, Revoked, RotatedApiToken } from '../console-schemas.ts';
import { nativeError } from '../envelope.ts';
import { ApiTokenFormat, NoBody, Strict, StringIdParams } from '../inputs.ts';
import { apiTokenView } from '../views.ts';
import { revokedOr } from '../answers.ts';

const IdParams = StringIdParams;
const CreateBody = Type.Object(
  {
    format: ApiTokenFormat,
    label: Type.Optional(Type.String({ maxLength: 200 })),
    expiresInDays: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 3650 }), Type.Null()])),
  },
  Strict,
);
const RotateBody = Type.Object(
  { graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_ROTATION_GRACE_MS / 1000 })) },
  Strict,
);

export async function registerCabinetApiTokens(app: HttpApp, core: Core): Promise<void> {
  app.get('/api/cabinet/api-tokens', { schema: { tags: ['cabinet'], summary: 'API tokens of the account (hints only)', response: readResponses(ApiTokenList) } }, async (request) => {
    const tokens = await core.apiTokens.listByAccount(accountOf(request).id);
    const now = core.clock.now();
    return { items: tokens.map((t) => apiTokenView(t, now)) };
  });

  app.post(
    '/api/cabinet/api-tokens',
    { schema: { tags: ['cabinet'], summary: 'Create an API token; the token is in this response only', body: CreateBody, response: writeResponses(201, NewApiToken) } },
    async (request, reply) => {
      const body = request.body;
      const now = core.clock.now();
      const created = await core.apiTokens.create(
        {
          accountId: accountOf(request).id,
          format: body.format,
          label: body.label ?? null,
          expiresAt: body.expiresInDays ? now + body.expiresInDays * DAY_MS : null,
        },
        consoleContext(request),
      );
      return reply.code(201).send({ token: created.token, apiToken: apiTokenView(created.apiToken, now) });
    },
  );

  app.post(
    '/api/cabinet/api-tokens/:id/rotate',
    {
      schema: {
        tags: ['cabinet'],
        summary: 'Replace a token; the old one keeps working for graceSeconds (0: stops at once)',
        params: IdParams,
        body: RotateBody,
        response: writeResponses(200, RotatedApiToken, ['not_found', 'not_active']),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { graceSeconds } = request.body;
      const outcome = await core.apiTokens.rotate(
        id,
        { graceMs: (graceSeconds ?? 0) * 1000, accountId: accountOf(request).id },
        consoleContext(request),
      );
      if (!outcome.ok) return sendWire(reply, nativeError(outcome.code === 'not_found' ? 'not_found' : 'not_active'));
      const now = core.clock.now();
      return {
        token: outcome.created.token,
        apiToken: apiTokenView(outcome.created.apiToken, now),
        previous: apiTokenView(outcome.previous, now),
      };
    },
  );

  app.post(
    '/api/cabinet/api-tokens/:id/revoke',
    {
      schema: {
        tags: ['cabinet'],
        summary: 'Revoke a token: checks with it fail from now on',
        params: IdParams,
        body: NoBody,
        response: writeResponses(200, Revoked, ['not_found']),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      return revokedOr(reply, await core.apiTokens.revoke(id, consoleContext(request), { accountId: accountOf(request).id }), 'not_found');
    },
  );
}
