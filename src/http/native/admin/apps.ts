/**
 * Apps in the admin API (the appId a ChatApp client sends to `tokens.make`): an account's apps,
 * create, rename, delete. Deleting an app revokes every session started with its appId and removes
 * the rules set on it (its policy) in the same transaction: an appId is never handed out again, so
 * rules kept for it would only be found by nobody (docs/admin-api.md).
 */
import { Type } from '@sinclair/typebox';
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { consoleContext } from '../console-auth.ts';
import { AppView } from '../console-schemas.ts';
import { keysetPage, PageQueryProps } from '../paging.ts';
import { appView } from '../views.ts';
import { AppBody, Strict } from '../inputs.ts';
import { AccountParams, accountRoute, adminRead, adminWrite, isRecordId } from './records-common.ts';
import { AdminAppPage, AppDeleted } from './records-schemas.ts';
import { notFound, viewOrNotFound } from '../answers.ts';
import { adminRoute } from './access.ts';

const AppParams = Type.Object({ appId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) }, Strict);
const ListQuery = Type.Object({ ...PageQueryProps }, Strict);

export async function registerAdminApps(app: HttpApp, core: Core): Promise<void> {
  accountRoute(
    app,
    core,
    'GET',
    '/api/admin/accounts/:id/apps',
    adminRoute('apps:read', { summary: "An account's apps, oldest first", params: AccountParams, querystring: ListQuery, response: adminRead(AdminAppPage, ['not_found']) }),
    async (account, request) =>
      keysetPage(request.query, isRecordId, (limit, afterId) => core.accounts.pageApps(account.id, { limit, ...(afterId !== undefined ? { afterId } : {}) }), appView, (a) => a.id),
  );

  accountRoute(
    app,
    core,
    'POST',
    '/api/admin/accounts/:id/apps',
    adminRoute('apps:write', {
      summary: 'Register an app of an account; its appId is generated',
      params: AccountParams,
      body: AppBody,
      response: adminWrite(201, AppView, ['not_found']),
    }, { idempotent: true }),
    async (account, request, reply) => {
      const created = await core.accounts.createApp({ accountId: account.id, name: request.body.name }, consoleContext(request));
      return reply.code(201).send(appView(created));
    },
  );

  app.patch(
    '/api/admin/apps/:appId',
    adminRoute('apps:write', { summary: 'Rename an app (its appId stays)', params: AppParams, body: AppBody, response: adminWrite(200, AppView, ['not_found']) }),
    async (request, reply) => viewOrNotFound(reply, await core.accounts.renameApp(request.params.appId, request.body.name, consoleContext(request)), appView),
  );

  app.delete(
    '/api/admin/apps/:appId',
    adminRoute('apps:write', {
      summary: 'Delete an app: its sessions are revoked, its policy removed, tokens.make with its appId fails',
      params: AppParams,
      response: adminWrite(200, AppDeleted, ['not_found']),
    }),
    async (request, reply) => {
      const deleted = await core.accounts.deleteApp(request.params.appId, consoleContext(request));
      if (!deleted) return notFound(reply);
      return { deleted: true as const, sessionsRevoked: deleted.sessionsRevoked, policyRemoved: deleted.policyRemoved };
    },
  );
}
