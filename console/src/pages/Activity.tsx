import { useEffect, useState, type ReactNode } from 'react';
import { api, type AuditPage } from '../api.ts';
import { AuditTable, eventLabel } from '../components/AuditTable.tsx';
import { Card, EmptyState, Icons, ListStates, LoadMore, PageHeader } from '../components/ui.tsx';
import { usePages } from '../hooks.ts';
import { useI18n } from '../i18n.ts';

const TYPES = [
  'login.succeeded',
  'login.failed',
  'login.throttled',
  'quota.exceeded',
  'session.refreshed',
  'session.revoked',
  'session.reuse_detected',
  'console.signed_in',
  'console.sign_in_failed',
  'console.signed_out',
  'app.created',
  'api_token.created',
  'api_token.rotated',
  'api_token.revoked',
  'service_account.created',
  'service_account.disabled',
  'service_account.enabled',
  'service_key.created',
  'service_key.revoked',
  'service_token.created',
  'account.created',
  'account.disabled',
  'account.enabled',
] as const;

const PAGE = 50;

export function ActivityPage(): ReactNode {
  const { t } = useI18n();
  const [type, setType] = useState('');
  const pages = usePages((before) => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (type) q.set('type', type);
    if (before !== null) q.set('before', String(before));
    return api<AuditPage>('cabinet', 'GET', `/activity?${q}`).then((p) => ({ items: p.items, next: p.nextBefore }));
  });

  useEffect(() => {
    pages.setItems(() => null);
    void pages.reload();
  }, [type]);

  return (
    <>
      <PageHeader
        title={t('activity.title')}
        subtitle={t('activity.subtitle')}
        actions={
          <label className="inline-field">
            <span>{t('activity.filter')}</span>
            <select value={type} onChange={(e) => setType(e.target.value)} data-testid="activity-filter">
              <option value="">{t('common.all')}</option>
              {TYPES.map((x) => (
                <option key={x} value={x}>
                  {eventLabel(x, t)}
                </option>
              ))}
            </select>
          </label>
        }
      />
      <ListStates
        items={pages.items}
        loading={pages.loading}
        error={pages.error}
        onRetry={() => void pages.reload()}
        empty={<EmptyState icon={Icons.activity} title={type ? t('activity.emptyFiltered') : t('activity.empty')} />}
      >
        {(items) => (
          <Card>
            <AuditTable items={items} />
            <LoadMore next={pages.next} loading={pages.loading} onMore={() => void pages.more()} />
          </Card>
        )}
      </ListStates>
    </>
  );
}
