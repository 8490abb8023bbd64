/**
 * One API token's checks per day by outcome, and its credits left: `GET
 * /api/cabinet/api-tokens/:id/usage` for the account's own tokens (another account's token is 404,
 * as an unknown one) and `GET /api/admin/api-tokens/:id/usage` for the operator (`usage:read`).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { Core } from '../../core/tokend.ts';
import { TOKEN_USAGE_DAYS } from '../../core/token-usage.ts';
import type { HttpApp } from '../dialect.ts';
import { authOf } from './console-auth.ts';
import { readResponses } from './console-responses.ts';
import { TokenUsageView } from './console-schemas.ts';
import { adminRoute } from './admin/access.ts';
import { notFound } from './answers.ts';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z_-]+$' }) }, { additionalProperties: false });
const Query = Type.Object({ days: Type.Optional(Type.String({ pattern: '^[1-9][0-9]?$', description: `1-${TOKEN_USAGE_DAYS}, default 14.` })) }, { additionalProperties: false });

async function usageOf(core: Core, id: string, days: number, accountId: number | undefined): Promise<Static<typeof TokenUsageView> | null> {
  const ref = await core.policies.resolve('api_token', id, accountId === undefined ? {} : { accountId });
  if (!ref) return null;
  const [perDay, policy] = await Promise.all([core.tokenUsage.perDay(ref.subject.id, Math.min(days, TOKEN_USAGE_DAYS)), core.policies.get(ref)]);
  return {
    id: ref.subject.id,
    creditsLeft: policy?.creditsLeft ?? null,
    days: perDay.map(({ day, counts }) => {
      const { ok, ...refused } = counts;
      return { day, ok, refused };
    }),
  };
}

function send(reply: FastifyReply, view: Static<typeof TokenUsageView> | null): Static<typeof TokenUsageView> | FastifyReply {
  return view ?? notFound(reply);
}

export async function registerCabinetTokenUsage(app: HttpApp, core: Core): Promise<void> {
  app.get(
    '/api/cabinet/api-tokens/:id/usage',
    { schema: { tags: ['cabinet'], summary: 'Checks of one of the account\'s API tokens per day, by outcome; credits left', params: Params, querystring: Query, response: readResponses(TokenUsageView, ['not_found']) } },
    async (request, reply) => send(reply, await usageOf(core, request.params.id, Number(request.query.days ?? 14), authOf(request)!.auth.account!.id)),
  );
}

export async function registerAdminTokenUsage(app: HttpApp, core: Core): Promise<void> {
  app.get(
    '/api/admin/api-tokens/:id/usage',
    adminRoute('usage:read', { summary: 'Checks of an API token per day, by outcome; credits left', params: Params, querystring: Query, response: readResponses(TokenUsageView, ['not_found', 'too_many_attempts']) }),
    async (request, reply) => send(reply, await usageOf(core, request.params.id, Number(request.query.days ?? 14), undefined)),
  );
}
