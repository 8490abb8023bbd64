import type { ReactNode } from 'react';
import { api, type ClientAdvice, type Usage } from '../api.ts';
import { Card, ErrorNotice, Loading, Mono, PageHeader } from '../components/ui.tsx';
import { formatDate, formatDateTime, formatNumber, formatRelative } from '../format.ts';
import { useResource } from '../hooks.ts';
import { translator, useI18n, type Lang } from '../i18n.ts';

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
            <ChecksChart days={u.checks} lang={lang} />
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

/** Bars per UTC day, drawn as SVG (no charting library: it would be most of the bundle). */
function ChecksChart(props: { days: { day: number; count: number }[]; lang: Lang }): ReactNode {
  const { days, lang } = props;
  const width = 720;
  const height = 220;
  const pad = { top: 16, right: 12, bottom: 30, left: 48 };
  const max = niceMax(Math.max(2, ...days.map((d) => d.count)));
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const slot = innerW / Math.max(1, days.length);
  const barW = Math.max(4, slot * 0.62);
  const ticks = [0, max / 2, max];
  return (
    <svg className="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={translator(props.lang)('usage.checks')} data-testid="checks-chart">
      {ticks.map((v) => {
        const y = pad.top + innerH - (v / max) * innerH;
        return (
          <g key={v}>
            <line className="grid" x1={pad.left} x2={width - pad.right} y1={y} y2={y} />
            <text className="axis" x={pad.left - 8} y={y + 4} textAnchor="end">
              {formatNumber(v, lang)}
            </text>
          </g>
        );
      })}
      {days.map((d, i) => {
        const h = (d.count / max) * innerH;
        const x = pad.left + i * slot + (slot - barW) / 2;
        const label = formatDate(d.day, lang, { day: 'numeric', month: 'short', timeZone: 'UTC' });
        return (
          <g key={d.day}>
            <rect className="chart-bar" x={x} y={pad.top + innerH - h} width={barW} height={Math.max(h, d.count > 0 ? 1 : 0)} rx="2">
              <title>{`${label}: ${formatNumber(d.count, lang)}`}</title>
            </rect>
            {/* Every other day, counted back from today, so that today always has its label. */}
            {((days.length - 1 - i) % 2 === 0 || days.length <= 8) && (
              <text className="axis" x={x + barW / 2} y={height - 10} textAnchor="middle">
                {label}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}

/** The smallest of 2, 4, 10, 20, 40, 100, … that holds n: its half (the middle gridline) is a whole number. */
function niceMax(n: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(n));
  for (const step of [2, 4, 10]) if (step * magnitude >= n) return step * magnitude;
  return 20 * magnitude;
}
