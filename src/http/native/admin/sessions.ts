/**
 * Sessions in the admin API: an account's live sessions (ChatApp and service-account refresh
 * chains), revoke one, revoke every one of an account. A revoked session's access and refresh
 * tokens fail their next check, on this node at once and on others within the cache bound.
 */
import { Type } from '@sinclair/typebox';
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { consoleContext } from '../console-auth.ts';
import { Revoked, RevokedAll } from '../console-schemas.ts';
import { decodeCursor, encodeCursor, PageQueryProps, pageLimit } from '../paging.ts';
import { sessionView } from '../views.ts';
import { NoBody, Strict, StringIdParams } from '../inputs.ts';
import { AccountParams, accountNamed, adminRead, adminWrite, isTimeAndStringId, notFound } from './records-common.ts';
import { AdminSessionPage } from './records-schemas.ts';

const SessionParams = StringIdParams;
const ListQuery = Type.Object({ ...PageQueryProps }, Strict);
const REASON = 'revoked_by_operator';

export async function registerAdminSessions(app: HttpApp, core: Core): Promise<void> {
  app.get(
    '/api/admin/accounts/:id/sessions',
    {
      config: { permission: 'sessions:read' },
      schema: {
        tags: ['admin'],
        summary: "An account's live sessions, newest first",
        params: AccountParams,
        querystring: ListQuery,
        response: adminRead(AdminSessionPage, ['not_found']),
      },
    },
    async (request, reply) => {
      const account = await accountNamed(core, request.params.id);
      if (!account) return notFound(reply);
      const limit = pageLimit(request.query);
      const before = decodeCursor(request.query.cursor, isTimeAndStringId);
      const { items, total } = await core.sessions.listActivePage(account.id, {
        limit: limit + 1,
        ...(before ? { before: { createdAt: before[0], id: before[1] } } : {}),
      });
      const shown = items.slice(0, limit);
      const last = shown.at(-1);
      return { items: shown.map(sessionView), total, nextCursor: items.length > limit && last ? encodeCursor([last.createdAt, last.id]) : null };
    },
  );

  app.post(
    '/api/admin/sessions/:id/revoke',
    {
      config: { permission: 'sessions:write' },
      schema: {
        tags: ['admin'],
        summary: 'Revoke a live session: its access and refresh tokens stop working',
        params: SessionParams,
        body: NoBody,
        response: adminWrite(200, Revoked, ['not_found']),
      },
    },
    async (request, reply) => {
      if (!(await core.sessions.revoke(request.params.id, consoleContext(request), REASON))) return notFound(reply);
      return { revoked: true as const };
    },
  );

  app.post(
    '/api/admin/accounts/:id/sessions/revoke-all',
    {
      config: { permission: 'sessions:write' },
      schema: {
        tags: ['admin'],
        summary: 'Revoke every session of an account (console sign-ins stay)',
        params: AccountParams,
        body: NoBody,
        response: adminWrite(200, RevokedAll, ['not_found']),
      },
    },
    async (request, reply) => {
      const account = await accountNamed(core, request.params.id);
      if (!account) return notFound(reply);
      return { revoked: await core.sessions.revokeAllOf(account.id, consoleContext(request), REASON) };
    },
  );
}
