/**
 * Audit entries as a table: the cabinet's Activity page, and the operator's dashboard, audit page
 * and account page (which add the account each entry concerns).
 */
import type { ReactNode } from 'react';
import { formatDateTime, formatSeconds } from '../format.ts';
import { hasKey, useI18n, type Lang, type Translate } from '../i18n.ts';
import { Link, Mono } from './ui.tsx';


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

interface Entry {
  id: number;
  at: number;
  type: string;
  address: string | null;
  detail: Record<string, unknown>;
  accountId?: number | null;
}

/** `withAccount`: a column with the account each entry concerns, a link to its page. */
export function AuditTable(props: { items: readonly Entry[]; withAccount?: boolean; testId?: string }): ReactNode {
  const { t, lang } = useI18n();
  return (
    <div className="table-scroll">
      <table className="table" data-testid={props.testId ?? 'activity-table'}>
        <thead>
          <tr>
            <th>{t('activity.time')}</th>
            <th>{t('activity.event')}</th>
            {props.withAccount && <th>{t('audit.account')}</th>}
            <th>{t('activity.details')}</th>
            <th>{t('activity.address')}</th>
          </tr>
        </thead>
        <tbody>
          {props.items.map((e) => (
            <tr key={e.id} data-testid="activity-row" data-type={e.type} data-id={e.id}>
              <td className="nowrap">{formatDateTime(e.at, lang)}</td>
              <td>
                <span className={`event event-${e.type.split('.')[1] ?? ''}`}>{eventLabel(e.type, t)}</span>
              </td>
              {props.withAccount && (
                <td className="nowrap">
                  {e.accountId != null ? (
                    <Link to={`admin/accounts/${e.accountId}`}>
                      <Mono>{e.accountId}</Mono>
                    </Link>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
              )}
              <td className="detail">{describe(e.detail, lang)}</td>
              <td className="muted">{e.address ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
