import { useEffect, useState, type ReactNode } from 'react';
import { api, type AuditPage } from '../api.ts';
import { Card, EmptyState, Icons, ListStates, LoadMore, PageHeader } from '../components/ui.tsx';
import { formatDateTime, formatSeconds } from '../format.ts';
import { usePages } from '../hooks.ts';
import { hasKey, useI18n, type Lang, type Translate } from '../i18n.ts';

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

export function eventLabel(type: string, t: Translate): string {
  const key = `event.${type}`;
  return hasKey(key) ? t(key) : type;
}

/** The secret-free details of an event as short `key: value` pairs, times and durations made readable. */
function describe(detail: Record<string, unknown>, lang: Lang): string {
  return Object.entries(detail)
    .filter(([, v]) => v !== null && v !== undefined && (typeof v !== 'object' || Array.isArray(v)))
    .slice(0, 6)
    .map(([k, v]) => {
      if (typeof v === 'number' && k.endsWith('At')) return `${k}: ${formatDateTime(v, lang)}`;
      if (typeof v === 'number' && k.endsWith('Ms')) return `${k.slice(0, -2)}: ${formatSeconds(Math.round(v / 1000), lang)}`;
      return `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`;
    })
    .join(' · ');
}

export function ActivityPage(): ReactNode {
  const { t, lang } = useI18n();
  const [type, setType] = useState('');
  const pages = usePages((before) => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (type) q.set('type', type);
    if (before !== null) q.set('before', String(before));
    return api<AuditPage>('cabinet', 'GET', `/activity?${q}`);
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
            <table className="table" data-testid="activity-table">
              <thead>
                <tr>
                  <th>{t('activity.time')}</th>
                  <th>{t('activity.event')}</th>
                  <th>{t('activity.details')}</th>
                  <th>{t('activity.address')}</th>
                </tr>
              </thead>
              <tbody>
                {items.map((e) => (
                  <tr key={e.id} data-testid="activity-row" data-type={e.type}>
                    <td className="nowrap">{formatDateTime(e.at, lang)}</td>
                    <td>
                      <span className={`event event-${e.type.split('.')[1] ?? ''}`}>{eventLabel(e.type, t)}</span>
                    </td>
                    <td className="detail">{describe(e.detail, lang)}</td>
                    <td className="muted">{e.address ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <LoadMore next={pages.next} loading={pages.loading} onMore={() => void pages.more()} />
          </Card>
        )}
      </ListStates>
    </>
  );
}
