/**
 * The audit log in the admin API: filtered pages, newest first, and the same entries as NDJSON,
 * oldest first. The export is streamed: core's AuditLog.export reads the database a page at a time
 * as the client takes the lines (a Readable over an async generator, so a slow client holds back
 * the reads rather than filling memory), whatever the size of the log.
 */
import { Readable } from 'node:stream';
import { Type, type Static, type TString } from '@sinclair/typebox';
import type { AuditFilters } from '../../../core/audit.ts';
import { InvalidInputError } from '../../../core/errors.ts';
import type { AuditEvent } from '../../../core/model.ts';
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { readResponses } from '../console-responses.ts';
import { keysetPage, PageQueryProps } from '../paging.ts';
import { auditView } from '../views.ts';
import { RecordId, Strict } from '../inputs.ts';
import { adminRead, isTimeAndId } from './records-common.ts';
import { AdminAuditPage, AdminAuditView } from './records-schemas.ts';
import { adminRoute } from './access.ts';

function Time(description: string): TString {
  return Type.String({ pattern: '^[0-9]{1,15}$', description: `${description} Unix milliseconds.` });
}

const FilterProps = {
  account: Type.Optional({ ...RecordId, description: 'Only entries of this account.' }),
  type: Type.Optional(Type.String({ pattern: '^[a-z_.]{1,64}$', description: 'Only entries of this type (`api_token.revoked`, …).' })),
  since: Type.Optional(Time('Entries at or after this time.')),
  until: Type.Optional(Time('Entries before this time.')),
};
const ListQuery = Type.Object({ ...FilterProps, ...PageQueryProps }, Strict);
const ExportQuery = Type.Object(FilterProps, Strict);

export function adminAuditView(e: AuditEvent): Static<typeof AdminAuditView> {
  return { ...auditView(e), accountId: e.accountId };
}

function filtersOf(q: { account?: string; type?: string; since?: string; until?: string }): AuditFilters {
  const since = q.since === undefined ? undefined : Number(q.since);
  const until = q.until === undefined ? undefined : Number(q.until);
  if (since !== undefined && until !== undefined && until <= since) throw new InvalidInputError('until', 'must be after since');
  return {
    ...(q.account !== undefined ? { accountId: Number(q.account) } : {}),
    ...(q.type !== undefined ? { type: q.type } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  };
}

/** One JSON line per entry, produced as the stream is read. */
async function* ndjson(entries: AsyncIterable<AuditEvent>): AsyncGenerator<string> {
  for await (const e of entries) yield `${JSON.stringify(adminAuditView(e))}\n`;
}

export async function registerAdminAudit(app: HttpApp, core: Core): Promise<void> {
  app.get(
    '/api/admin/audit',
    adminRoute('audit:read', { summary: 'The audit log, newest first, filtered by account, type and time', querystring: ListQuery, response: adminRead(AdminAuditPage) }),
    async (request) => {
      return keysetPage(request.query, isTimeAndId, (limit, after) => core.audit.page(filtersOf(request.query), { limit, ...(after ? { after: { at: after[0], id: after[1] } } : {}) }), adminAuditView, (e) => [e.at, e.id]);
    },
  );

  app.get(
    '/api/admin/audit/export',
    adminRoute('audit:read', {
      summary: 'The audit log as NDJSON (one entry per line), oldest first, streamed',
      querystring: ExportQuery,
      response: {
        ...readResponses(AdminAuditView, ['too_many_attempts']),
        // Typed as the stream the handler sends; documented as what each of its lines is.
        200: { description: 'One JSON object per line, each an audit entry.', content: { 'application/x-ndjson': { schema: Type.Unsafe<Readable>(AdminAuditView) } } },
      },
    }),
    async (request, reply) => {
      const filters = filtersOf(request.query);
      return reply
        .type('application/x-ndjson')
        .header('content-disposition', 'attachment; filename="tokend-audit.ndjson"')
        .send(Readable.from(ndjson(core.audit.export(filters))));
    },
  );
}
