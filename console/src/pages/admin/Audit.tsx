/**
 * The instance's audit log for the operator: filtered by account, type and time, read a page at a
 * time (newest first), and the same entries as NDJSON for another system (oldest first).
 */
import { useEffect, useState, type ReactNode } from 'react';
import { api, type AdminAuditPage } from '../../api.ts';
import { AUDIT_TYPES } from '../../audit-types.ts';
import { AuditTable, eventLabel } from '../../components/AuditTable.tsx';
import { Card, EmptyState, Icons, ListStates, LoadMore, PageHeader } from '../../components/ui.tsx';
import { usePages } from '../../hooks.ts';
import { useI18n } from '../../i18n.ts';

const PAGE = 50;

export interface AuditFilters {
  account: string;
  type: string;
  /** `datetime-local` values (the browser's time zone); empty: no bound. */
  since: string;
  until: string;
}

const NO_FILTERS: AuditFilters = { account: '', type: '', since: '', until: '' };

/** The filters as the API's query: times in Unix milliseconds; what is not a valid filter yet is left out. */
export function auditQuery(f: AuditFilters): URLSearchParams {
  const q = new URLSearchParams();
  if (/^[1-9][0-9]*$/.test(f.account.trim())) q.set('account', f.account.trim());
  if (f.type) q.set('type', f.type);
  for (const key of ['since', 'until'] as const) {
    const ms = f[key] ? new Date(f[key]).getTime() : NaN;
    if (Number.isFinite(ms) && ms >= 0) q.set(key, String(ms));
  }
  return q;
}

/** Audit entries a page at a time under the given filters; "Load more" follows the cursor. */
export function useAuditPages(filters: AuditFilters, delayMs: number): ReturnType<typeof usePages<AdminAuditPage['items'][number], string>> {
  const query = auditQuery(filters).toString();
  const pages = usePages<AdminAuditPage['items'][number], string>(async (cursor) => {
    const q = new URLSearchParams(query);
    q.set('limit', String(PAGE));
    if (cursor) q.set('cursor', cursor);
    const page = await api<AdminAuditPage>('admin', 'GET', `/audit?${q}`);
    return { items: page.items, next: page.nextCursor };
  });
  // A moment after the last key typed into a filter; at once the first time.
  useEffect(() => {
    const timer = setTimeout(() => void pages.reload(), delayMs);
    return () => clearTimeout(timer);
  }, [query]);
  return pages;
}

export function AuditPage(): ReactNode {
  const { t } = useI18n();
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  const [typed, setTyped] = useState(false);
  const pages = useAuditPages(filters, typed ? 250 : 0);
  const set = (patch: Partial<AuditFilters>): void => {
    setTyped(true);
    setFilters({ ...filters, ...patch });
  };
  const filtered = auditQuery(filters).toString() !== '';
  const exportUrl = `/api/admin/audit/export${filtered ? `?${auditQuery(filters)}` : ''}`;
  return (
    <>
      <PageHeader
        title={t('audit.title')}
        subtitle={t('audit.subtitle')}
        actions={
          <a className="btn btn-secondary" href={exportUrl} download="audit.ndjson" data-testid="audit-export">
            {t('audit.export')}
          </a>
        }
      />
      <div className="toolbar filters" data-testid="audit-filters">
        <label className="inline-field">
          <span>{t('audit.account')}</span>
          <input
            inputMode="numeric"
            className="narrow"
            placeholder={t('audit.accountPlaceholder')}
            value={filters.account}
            onChange={(e) => set({ account: e.target.value })}
            data-testid="audit-account"
          />
        </label>
        <label className="inline-field">
          <span>{t('activity.filter')}</span>
          <select value={filters.type} onChange={(e) => set({ type: e.target.value })} data-testid="audit-type">
            <option value="">{t('common.all')}</option>
            {AUDIT_TYPES.map((x) => (
              <option key={x} value={x}>
                {eventLabel(x, t)}
              </option>
            ))}
          </select>
        </label>
        <label className="inline-field">
          <span>{t('audit.since')}</span>
          <input type="datetime-local" value={filters.since} onChange={(e) => set({ since: e.target.value })} data-testid="audit-since" />
        </label>
        <label className="inline-field">
          <span>{t('audit.until')}</span>
          <input type="datetime-local" value={filters.until} onChange={(e) => set({ until: e.target.value })} data-testid="audit-until" />
        </label>
        {filtered && (
          <button type="button" className="link-button" onClick={() => set(NO_FILTERS)} data-testid="audit-clear">
            {t('audit.clear')}
          </button>
        )}
      </div>
      <ListStates
        items={pages.items}
        loading={pages.loading}
        error={pages.error}
        onRetry={() => void pages.reload()}
        context="operator"
        empty={<EmptyState icon={Icons.activity} title={filtered ? t('audit.emptyFiltered') : t('activity.empty')} />}
      >
        {(items) => (
          <Card>
            <AuditTable items={items} withAccount testId="audit-table" />
            <LoadMore next={pages.next} loading={pages.loading} onMore={() => void pages.more()} />
          </Card>
        )}
      </ListStates>
    </>
  );
}
