/**
 * Service accounts and their keys in the cabinet (the keys a hoster.by API client sends as
 * Access-Key / Secret-Key). The Secret Key is in the create response only.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { DAY_MS } from '../../../core/clock.ts';
import type { ServiceAccount } from '../../../core/model.ts';
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { accountOf, consoleContext } from '../console-auth.ts';
import { readResponses, writeResponses } from '../console-responses.ts';
import { NewServiceKey, Revoked, ServiceAccountList, ServiceAccountView } from '../console-schemas.ts';
import { NoBody, RecordIdParams, ServiceAccountBody, ServiceKeyParams, Strict } from '../inputs.ts';
import { serviceAccountView, serviceKeyView } from '../views.ts';
import { notFound, revokedOr } from '../answers.ts';

const SaParams = RecordIdParams;
const KeyParams = ServiceKeyParams;
const CreateBody = ServiceAccountBody;
const KeyBody = Type.Object(
  { expiresInDays: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 3650 }), Type.Null()])) },
  Strict,
);

export async function registerCabinetServiceAccounts(app: HttpApp, core: Core): Promise<void> {
  const service = core.serviceAccounts;

  /** The service account `id` (from the URL) if it is the signed-in account's; otherwise null (404, whether or not it exists). */
  async function owned(request: FastifyRequest, id: string): Promise<ServiceAccount | null> {
    const sa = await service.get(Number(id));
    return sa && sa.accountId === accountOf(request).id ? sa : null;
  }

  async function view(sa: ServiceAccount): Promise<Static<typeof ServiceAccountView>> {
    return serviceAccountView(sa, await service.listKeys(sa.id), core.clock.now());
  }

  app.get('/api/cabinet/service-accounts', { schema: { tags: ['cabinet'], summary: 'Service accounts with their keys (never a secret)', response: readResponses(ServiceAccountList) } }, async (request) => {
    const list = await service.listByAccount(accountOf(request).id);
    return { items: await Promise.all(list.map(view)) };
  });

  app.post(
    '/api/cabinet/service-accounts',
    { schema: { tags: ['cabinet'], summary: 'Create a service account with its allowed actions', body: CreateBody, response: writeResponses(201, ServiceAccountView) } },
    async (request, reply) => {
      const body = request.body;
      const sa = await service.create({ accountId: accountOf(request).id, name: body.name, actions: body.actions }, consoleContext(request));
      return reply.code(201).send(await view(sa));
    },
  );

  for (const action of ['disable', 'enable'] as const) {
    app.post(
      `/api/cabinet/service-accounts/:id/${action}`,
      {
        schema: {
          tags: ['cabinet'],
          summary: action === 'disable' ? 'Disable a service account: its sessions are revoked, its keys stop working' : 'Enable it again',
          params: SaParams,
          body: NoBody,
          response: writeResponses(200, ServiceAccountView, ['not_found']),
        },
      },
      async (request, reply) => {
        const sa = await owned(request, request.params.id);
        if (!sa) return notFound(reply);
        await service[action](sa.id, consoleContext(request));
        return view((await service.get(sa.id)) ?? sa);
      },
    );
  }

  app.post(
    '/api/cabinet/service-accounts/:id/keys',
    {
      schema: {
        tags: ['cabinet'],
        summary: 'Create a key pair; the Secret Key is in this response only',
        params: SaParams,
        body: KeyBody,
        response: writeResponses(201, NewServiceKey, ['not_found']),
      },
    },
    async (request, reply) => {
      const sa = await owned(request, request.params.id);
      if (!sa) return notFound(reply);
      const { expiresInDays } = request.body;
      const now = core.clock.now();
      const created = await service.createKey(
        { serviceAccountId: sa.id, expiresAt: expiresInDays ? now + expiresInDays * DAY_MS : null },
        consoleContext(request),
      );
      return reply.code(201).send({ accessKey: created.key.accessKey, secretKey: created.secretKey, key: serviceKeyView(created.key, now) });
    },
  );

  app.post(
    '/api/cabinet/service-accounts/:id/keys/:keyId/revoke',
    {
      schema: {
        tags: ['cabinet'],
        summary: 'Revoke a key and every session it started',
        params: KeyParams,
        body: NoBody,
        response: writeResponses(200, Revoked, ['not_found', 'not_active']),
      },
    },
    async (request, reply) => {
      const sa = await owned(request, request.params.id);
      const key = sa ? await service.getKey(Number(request.params.keyId)) : null;
      if (!sa || !key || key.serviceAccountId !== sa.id) return notFound(reply);
      return revokedOr(reply, await service.revokeKey(key.id, consoleContext(request)), 'not_active');
    },
  );
}
