/**
 * Service accounts and their keys in the admin API (the hoster.by scheme's Access Key / Secret Key
 * pairs). Lists carry every key of each service account, never a secret; a new key's Secret Key is
 * in its create response only. Actions are checked as everywhere (core's `normalizeActions`).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { ServiceAccount, ServiceKey } from '../../../core/model.ts';
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { consoleContext } from '../console-auth.ts';
import { Revoked } from '../console-schemas.ts';
import { decodeCursor, page, PageQueryProps, pageLimit } from '../paging.ts';
import { serviceAccountView } from '../views.ts';
import {
  AccountParams,
  accountRoute,
  adminRead,
  adminWrite,
  Duration,
  isRecordId,
  lifetimeMs,
  namingField,
} from './records-common.ts';
import { Actions, NoBody, RecordIdParams, ServiceAccountBody, ServiceAccountName, ServiceKeyParams, Strict } from '../inputs.ts';
import { AdminNewServiceKey, AdminServiceAccountPage, AdminServiceAccountView } from './records-schemas.ts';
import { notFound, revokedOr, viewOrNotFound } from '../answers.ts';
import { adminRoute } from './access.ts';

const SaParams = RecordIdParams;
const KeyParams = ServiceKeyParams;
const CreateBody = ServiceAccountBody;
const UpdateBody = Type.Object({ name: Type.Optional(ServiceAccountName), actions: Type.Optional(Actions) }, { ...Strict, minProperties: 1 });
const KeyBody = Type.Object({ expiresIn: Type.Optional(Duration('Lifetime of the key; no session of it outlives it. Absent: no expiry (unless a policy requires one).')) }, Strict);
const ListQuery = Type.Object({ ...PageQueryProps }, Strict);

export function adminServiceAccountView(sa: ServiceAccount, keys: readonly ServiceKey[], now: number): Static<typeof AdminServiceAccountView> {
  return { ...serviceAccountView(sa, keys, now), accountId: sa.accountId };
}

export async function registerAdminServiceAccounts(app: HttpApp, core: Core): Promise<void> {
  const service = core.serviceAccounts;

  async function view(sa: ServiceAccount): Promise<Static<typeof AdminServiceAccountView>> {
    return adminServiceAccountView(sa, await service.listKeys(sa.id), core.clock.now());
  }

  function serviceAccountOf(request: FastifyRequest<{ Params: { id: string } }>): Promise<ServiceAccount | null> {
    return service.get(Number(request.params.id));
  }

  accountRoute(
    app,
    core,
    'GET',
    '/api/admin/accounts/:id/service-accounts',
    adminRoute('service-accounts:read', {
      summary: "An account's service accounts with their keys (never a secret), oldest first",
      params: AccountParams,
      querystring: ListQuery,
      response: adminRead(AdminServiceAccountPage, ['not_found']),
    }),
    async (account, request) => {
      const limit = pageLimit(request.query);
      const afterId = decodeCursor(request.query.cursor, isRecordId);
      const rows = await service.pageByAccount(account.id, { limit: limit + 1, ...(afterId !== undefined ? { afterId } : {}) });
      const keys = await service.keysOf(rows.slice(0, limit).map((sa) => sa.id));
      const now = core.clock.now();
      return page(rows, limit, (sa) => adminServiceAccountView(sa, keys.get(sa.id) ?? [], now), (sa) => sa.id);
    },
  );

  accountRoute(
    app,
    core,
    'POST',
    '/api/admin/accounts/:id/service-accounts',
    adminRoute('service-accounts:write', {
      summary: 'Create a service account of an account with its allowed actions',
      params: AccountParams,
      body: CreateBody,
      response: adminWrite(201, AdminServiceAccountView, ['not_found']),
    }, { idempotent: true }),
    async (account, request, reply) => {
      const { name, actions } = request.body;
      const sa = await service.create({ accountId: account.id, name, actions }, consoleContext(request));
      return reply.code(201).send(await view(sa));
    },
  );

  app.get(
    '/api/admin/service-accounts/:id',
    adminRoute('service-accounts:read', { summary: 'A service account with its keys (never a secret)', params: SaParams, response: adminRead(AdminServiceAccountView, ['not_found']) }),
    async (request, reply) => viewOrNotFound(reply, await serviceAccountOf(request), view),
  );

  app.patch(
    '/api/admin/service-accounts/:id',
    adminRoute('service-accounts:write', {
      summary: 'Rename a service account or replace its actions (new access tokens carry them)',
      params: SaParams,
      body: UpdateBody,
      response: adminWrite(200, AdminServiceAccountView, ['not_found']),
    }),
    async (request, reply) => {
      const { name, actions } = request.body;
      const sa = await service.update(
        Number(request.params.id),
        { ...(name !== undefined ? { name } : {}), ...(actions !== undefined ? { actions } : {}) },
        consoleContext(request),
      );
      return viewOrNotFound(reply, sa, view);
    },
  );

  for (const action of ['disable', 'enable'] as const) {
    app.post(
      `/api/admin/service-accounts/:id/${action}`,
      adminRoute('service-accounts:write', {
        summary: action === 'disable' ? 'Disable a service account: its sessions are revoked, its keys stop working' : 'Enable a disabled service account again',
        params: SaParams,
        body: NoBody,
        response: adminWrite(200, AdminServiceAccountView, ['not_found']),
      }),
      async (request, reply) => {
        const sa = await serviceAccountOf(request);
        if (!sa) return notFound(reply);
        await service[action](sa.id, consoleContext(request));
        return view((await service.get(sa.id)) ?? sa);
      },
    );
  }

  app.post(
    '/api/admin/service-accounts/:id/keys',
    adminRoute('service-accounts:write', {
      summary: 'Create an Access Key / Secret Key pair; the Secret Key is in this response only',
      params: SaParams,
      body: KeyBody,
      response: adminWrite(201, AdminNewServiceKey, ['not_found']),
    }, { idempotent: true }),
    async (request, reply) => {
      const sa = await serviceAccountOf(request);
      if (!sa) return notFound(reply);
      const { expiresIn } = request.body;
      const expiresAt = expiresIn === undefined ? null : core.clock.now() + lifetimeMs(expiresIn, 'expiresIn');
      const created = await namingField(service.createKey({ serviceAccountId: sa.id, expiresAt }, consoleContext(request)), 'expiresAt', 'expiresIn');
      return reply.code(201).send({ keyId: created.key.id, accessKey: created.key.accessKey, secretKey: created.secretKey, expiresAt: created.key.expiresAt });
    },
  );

  app.post(
    '/api/admin/service-accounts/:id/keys/:keyId/revoke',
    adminRoute('service-accounts:write', {
      summary: 'Revoke a key and every session it started',
      params: KeyParams,
      body: NoBody,
      response: adminWrite(200, Revoked, ['not_found', 'not_active']),
    }),
    async (request, reply) => {
      const key = await service.getKey(Number(request.params.keyId));
      if (!key || key.serviceAccountId !== Number(request.params.id)) return notFound(reply);
      return revokedOr(reply, await service.revokeKey(key.id, consoleContext(request)), 'not_active');
    },
  );
}
