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
import { AccountParams, accountRoute, adminRead, adminWrite, isTimeAndStringId } from './records-common.ts';
import { AdminSessionPage } from './records-schemas.ts';
import { revokedOr } from '../answers.ts';
import { adminRoute } from './access.ts';

const SessionParams = StringIdParams;
const ListQuery = Type.Object({ ...PageQueryProps }, Strict);
const REASON = 'revoked_by_operator';

export async function registerAdminSessions(app: HttpApp, core: Core): Promise<void> {
  accountRoute(
    app,
    core,
    'GET',
    '/api/admin/accounts/:id/sessions',
    adminRoute('sessions:read', {
      summary: "An account's live sessions, newest first",
      params: AccountParams,
      querystring: ListQuery,
      response: adminRead(AdminSessionPage, ['not_found']),
    }),
    async (account, request) => {
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
    adminRoute('sessions:write', {
      summary: 'Revoke a live session: its access and refresh tokens stop working',
      params: SessionParams,
      body: NoBody,
      response: adminWrite(200, Revoked, ['not_found']),
    }),
    async (request, reply) => {
      return revokedOr(reply, await core.sessions.revoke(request.params.id, consoleContext(request), REASON), 'not_found');
    },
  );

  accountRoute(
    app,
    core,
    'POST',
    '/api/admin/accounts/:id/sessions/revoke-all',
    adminRoute('sessions:write', {
      summary: 'Revoke every session of an account (console sign-ins stay)',
      params: AccountParams,
      body: NoBody,
      response: adminWrite(200, RevokedAll, ['not_found']),
    }),
    async (account, request) => {
      return { revoked: await core.sessions.revokeAllOf(account.id, consoleContext(request), REASON) };
    },
  );
}
