import type { ReactNode } from 'react';
import { api, type ClientAdvice, type Usage } from '../api.ts';
import { DayBars } from '../components/charts.tsx';
import { Card, ErrorNotice, Loading, Mono, PageHeader } from '../components/ui.tsx';
import { formatDateTime, formatNumber, formatRelative } from '../format.ts';
import { useResource } from '../hooks.ts';
import { useI18n } from '../i18n.ts';

const DAYS = 14;

export function UsagePage(): ReactNode {
  const { t, lang } = useI18n();
  const usage = useResource(() => api<Usage>('cabinet', 'GET', `/usage?days=${DAYS}`), []);
  const advice = useResource(() => api<ClientAdvice>('cabinet', 'GET', '/client-advice'), []);
  const u = usage.data;
  return (
    <>
      <PageHeader title={t('usage.title')} subtitle={t('usage.subtitle')} />
      {usage.error ? <ErrorNotice error={usage.error} onRetry={() => void usage.reload()} /> : null}
      {usage.loading && !u ? <Loading /> : null}
      {u && (
        <>
          <Card title={t('usage.makes')} actions={<span className="muted" title={formatDateTime(u.resetsAt, lang)}>{t('usage.resets', { time: formatRelative(u.resetsAt, Date.now(), lang) })}</span>}>
            {u.apps.length === 0 ? (
              <p className="muted">{t('usage.noApps')}</p>
            ) : (
              <div className="bars">
                {u.apps.map((a) => {
                  const share = Math.min(1, a.used / u.dailyMakeLimit);
                  const tone = share >= 1 ? 'full' : share >= 0.8 ? 'high' : 'ok';
                  return (
                    <div className="bar-row" key={a.appId} data-testid="make-bar" data-app-id={a.appId} data-used={a.used}>
                      <div className="bar-label">
                        <span>{a.name}</span> <Mono>{a.appId}</Mono>
                      </div>
                      <div
                        className="bar"
                        role="meter"
                        aria-valuemin={0}
                        aria-valuemax={u.dailyMakeLimit}
                        aria-valuenow={a.used}
                        aria-label={`${a.name}: ${t('usage.makesOf', { used: a.used, limit: u.dailyMakeLimit })}`}
                      >
                        <svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                          <rect className="bar-track" x="0" y="0" width="100" height="10" rx="0" />
                          <rect className={`bar-fill bar-${tone}`} x="0" y="0" width={Math.max(share * 100, a.used > 0 ? 1 : 0)} height="10" />
                        </svg>
                      </div>
                      <div className="bar-value">{t('usage.makesOf', { used: formatNumber(a.used, lang), limit: formatNumber(u.dailyMakeLimit, lang) })}</div>
                    </div>
                  );
                })}
              </div>
            )}
          </Card>
          <Card
            title={t('usage.checks')}
            actions={<span className="muted">{t('usage.checksTotal', { n: formatNumber(u.checks.reduce((s, d) => s + d.count, 0), lang), days: u.checks.length })}</span>}
          >
            <DayBars days={u.checks.map((d) => ({ day: d.day, values: [d.count] }))} series={[{ label: t('usage.checks'), className: 'chart-bar' }]} lang={lang} label={t('usage.checks')} testId="checks-chart" />
          </Card>
          {advice.data ? <AdviceCard advice={advice.data} /> : null}
        </>
      )}
    </>
  );
}

/** The patterns the ChatApp scheme warns against, as seen in each app's traffic, with what to do instead. */
function AdviceCard(props: { advice: ClientAdvice }): ReactNode {
  const { t, lang } = useI18n();
  const { advice } = props;
  const flagged = advice.apps.filter((a) => a.findings.length > 0 || a.quota.nearLimit);
  return (
    <Card title={t('usage.advice')} actions={<span className="muted">{t('usage.adviceSubtitle', { days: advice.periodDays })}</span>}>
      {flagged.length === 0 ? (
        <p className="muted" data-testid="advice-none">{t('usage.adviceNone')}</p>
      ) : (
        flagged.map((a) => (
          <div key={a.appId} data-testid="advice" data-app-id={a.appId}>
            <div className="bar-label">
              <span>{a.name}</span> <Mono>{a.appId}</Mono>
            </div>
            {a.findings.map((f) => (
              <p className="notice notice-warning" key={f.pattern} data-pattern={f.pattern}>
                {t(`usage.advice.${f.pattern}`, { n: formatNumber(f.count, lang) })}
              </p>
            ))}
            {a.quota.nearLimit ? (
              <p className="notice notice-warning" data-pattern="near_limit">
                {t('usage.advice.nearLimit', { used: formatNumber(a.quota.used, lang), limit: formatNumber(a.quota.limit, lang) })}
              </p>
            ) : null}
          </div>
        ))
      )}
    </Card>
  );
}
