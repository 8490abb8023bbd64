/**
 * The operator dashboard's traffic (GET /api/admin/stats): a range picker; totals; token checks
 * passed and refused, refusals by reason, issuances and refreshes, as stacked bars per bucket; the
 * accounts and tokens with the most checks and the most refusals; the apps of every account whose
 * clients misuse the ChatApp scheme, with the advice their owners see on the Usage page.
 */
import { useState, type ReactNode } from 'react';
import { api, type TrafficRange, type TrafficReport } from '../../api.ts';
import { TimeBars } from '../../components/charts.tsx';
import { Card, ErrorNotice, Link, Loading, Mono } from '../../components/ui.tsx';
import { formatNumber } from '../../format.ts';
import { useResource } from '../../hooks.ts';
import { useI18n, type Translate } from '../../i18n.ts';

type Bucket = TrafficReport['buckets'][number];
type TopAccount = TrafficReport['top']['accountsByChecks'][number];
type TopToken = TrafficReport['top']['tokensByChecks'][number];
type FlaggedApp = TrafficReport['flaggedApps']['apps'][number];

const RANGES: readonly TrafficRange[] = ['1h', '24h', '7d', '30d'];

function rangeLabel(range: TrafficRange, t: Translate): string {
  switch (range) {
    case '1h':
      return t('traffic.range.1h');
    case '24h':
      return t('traffic.range.24h');
    case '7d':
      return t('traffic.range.7d');
    case '30d':
      return t('traffic.range.30d');
  }
}

function perLabel(range: TrafficRange, t: Translate): string {
  switch (range) {
    case '1h':
      return t('traffic.per.1h');
    case '24h':
      return t('traffic.per.24h');
    case '7d':
      return t('traffic.per.7d');
    case '30d':
      return t('traffic.per.30d');
  }
}

function kindLabel(kind: TopToken['kind'], t: Translate): string {
  switch (kind) {
    case 'api_token':
      return t('traffic.kind.api_token');
    case 'app':
      return t('traffic.kind.app');
    case 'access_key':
      return t('traffic.kind.access_key');
  }
}

/** A long id (an API token's, an Access Key) cut to its start; the whole of it in the tooltip. */
const shortId = (id: string): string => (id.length > 18 ? `${id.slice(0, 13)}…` : id);

const refused = (b: Bucket): number => Object.values(b.checks).reduce((s, n) => s + n, 0) - b.checks.ok;
const sum = (buckets: Bucket[], of: (b: Bucket) => number): number => buckets.reduce((s, b) => s + of(b), 0);

export function TrafficSection(): ReactNode {
  const { t, lang } = useI18n();
  const [range, setRange] = useState<TrafficRange>('1h');
  const stats = useResource(() => api<TrafficReport>('admin', 'GET', `/stats?range=${range}`), [range]);
  const r = stats.data;
  const n = (v: number): string => formatNumber(v, lang);
  const picker = (
    <div className="range-picker" role="group" aria-label={t('traffic.range')} data-testid="traffic-range">
      {RANGES.map((x) => (
        <button key={x} type="button" aria-pressed={x === range} onClick={() => setRange(x)} data-testid={`range-${x}`}>
          {rangeLabel(x, t)}
        </button>
      ))}
    </div>
  );
  const bars = (label: string, testId: string, series: { label: string; className: string; of: (b: Bucket) => number }[]): ReactNode =>
    r ? (
      <Card title={label} actions={<span className="muted">{perLabel(r.range, t)}</span>} testId={`${testId}-card`}>
        <TimeBars
          buckets={r.buckets.map((b) => ({ start: b.start, values: series.map((s) => s.of(b)) }))}
          bucketMs={r.bucketSeconds * 1000}
          series={series}
          lang={lang}
          label={label}
          testId={testId}
        />
      </Card>
    ) : null;
  return (
    <>
      <Card title={t('traffic.title')} actions={picker} testId="traffic">
        <p className="muted">{t('traffic.subtitle')}</p>
        {stats.error ? <ErrorNotice error={stats.error} onRetry={() => void stats.reload()} context="operator" /> : null}
        {stats.loading && !r ? <Loading /> : null}
        {r && (
          <div className="stats traffic-stats" data-range={r.range}>
            {[
              { label: t('traffic.stat.checks'), value: sum(r.buckets, (b) => b.checks.ok + refused(b)), testId: 'stat-checks' },
              { label: t('traffic.stat.refused'), value: sum(r.buckets, refused), testId: 'stat-refused' },
              { label: t('traffic.stat.issued'), value: sum(r.buckets, (b) => b.issued), testId: 'stat-issued' },
              { label: t('traffic.stat.refreshed'), value: sum(r.buckets, (b) => b.refreshed), testId: 'stat-refreshed' },
            ].map((s) => (
              <div key={s.testId} className="stat" data-testid={s.testId} data-value={s.value}>
                <span className="stat-value">{n(s.value)}</span>
                <span className="stat-label">{s.label}</span>
              </div>
            ))}
          </div>
        )}
      </Card>
      {bars(t('traffic.checks'), 'traffic-checks', [
        { label: t('traffic.passed'), className: 'chart-bar', of: (b) => b.checks.ok },
        { label: t('traffic.refused'), className: 'chart-bar-bad', of: refused },
      ])}
      {bars(t('traffic.refusals'), 'traffic-refusals', [
        { label: t('traffic.reason.invalid'), className: 'chart-bar-dead', of: (b) => b.checks.invalid },
        { label: t('traffic.reason.expired'), className: 'chart-bar-warn', of: (b) => b.checks.expired },
        { label: t('traffic.reason.revoked'), className: 'chart-bar-bad', of: (b) => b.checks.revoked + b.checks.account_disabled },
        { label: t('traffic.reason.rate_limited'), className: 'chart-bar-info', of: (b) => b.checks.rate_limited },
        { label: t('traffic.reason.policy'), className: 'chart-bar', of: (b) => b.checks.credits_exhausted + b.checks.ip_denied + b.checks.scope_missing },
        { label: t('traffic.reason.quota'), className: 'chart-bar-alt', of: (b) => b.quota },
      ])}
      {bars(t('traffic.issuance'), 'traffic-issuance', [
        { label: t('traffic.issued'), className: 'chart-bar', of: (b) => b.issued },
        { label: t('traffic.refreshed'), className: 'chart-bar-info', of: (b) => b.refreshed },
        { label: t('traffic.refreshesRefused'), className: 'chart-bar-bad', of: (b) => b.refreshesRefused },
      ])}
      {r && (
        <div className="dashboard-grid">
          <TopAccounts title={t('traffic.top.accountsByChecks')} entries={r.top.accountsByChecks} measure={t('traffic.top.checks')} testId="top-accounts-checks" />
          <TopAccounts title={t('traffic.top.accountsByRefusals')} entries={r.top.accountsByRefusals} measure={t('traffic.top.refusals')} testId="top-accounts-refusals" />
          <TopTokens title={t('traffic.top.tokensByChecks')} entries={r.top.tokensByChecks} measure={t('traffic.top.checks')} testId="top-tokens-checks" />
          <TopTokens title={t('traffic.top.tokensByRefusals')} entries={r.top.tokensByRefusals} measure={t('traffic.top.refusals')} testId="top-tokens-refusals" />
        </div>
      )}
      {r && <FlaggedApps flagged={r.flaggedApps} />}
    </>
  );
}

function AccountCell(props: { accountId: number | null; email: string | null }): ReactNode {
  const { t } = useI18n();
  if (props.accountId === null) return <span className="muted">—</span>;
  return props.email !== null ? (
    <Link to={`admin/accounts/${props.accountId}`}>{props.email}</Link>
  ) : (
    <span className="muted">
      {t('traffic.top.deleted')} <Mono>{props.accountId}</Mono>
    </span>
  );
}

function TopAccounts(props: { title: string; entries: TopAccount[]; measure: string; testId: string }): ReactNode {
  const { t, lang } = useI18n();
  return (
    <Card title={props.title} testId={props.testId}>
      {props.entries.length === 0 ? (
        <p className="muted">{t('traffic.top.none')}</p>
      ) : (
        <div className="table-scroll">
          <table className="table compact">
            <thead>
              <tr>
                <th>{t('traffic.top.account')}</th>
                <th className="top-count">{props.measure}</th>
              </tr>
            </thead>
            <tbody>
              {props.entries.map((e) => (
                <tr key={e.accountId} data-testid="top-row" data-account-id={e.accountId} data-count={e.count}>
                  <td>
                    <AccountCell accountId={e.accountId} email={e.email} />
                  </td>
                  <td className="top-count">{formatNumber(e.count, lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function TopTokens(props: { title: string; entries: TopToken[]; measure: string; testId: string }): ReactNode {
  const { t, lang } = useI18n();
  return (
    <Card title={props.title} testId={props.testId}>
      {props.entries.length === 0 ? (
        <p className="muted">{t('traffic.top.none')}</p>
      ) : (
        <div className="table-scroll">
          <table className="table compact">
            <thead>
              <tr>
                <th>{t('traffic.top.token')}</th>
                <th>{t('traffic.top.account')}</th>
                <th className="top-count">{props.measure}</th>
              </tr>
            </thead>
            <tbody>
              {props.entries.map((e) => (
                <tr key={`${e.kind}:${e.id}`} data-testid="top-row" data-kind={e.kind} data-id={e.id} data-count={e.count}>
                  <td>
                    <span className="muted">{kindLabel(e.kind, t)}</span> <Mono title={e.id}>{shortId(e.id)}</Mono>
                  </td>
                  <td>
                    <AccountCell accountId={e.accountId} email={e.email} />
                  </td>
                  <td className="top-count">{formatNumber(e.count, lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

/** The patterns of docs/client-advice.md seen in any account's apps, with the advice their owners get. */
function FlaggedApps(props: { flagged: TrafficReport['flaggedApps'] }): ReactNode {
  const { t, lang } = useI18n();
  const { apps, periodDays } = props.flagged;
  const advice = (f: FlaggedApp['findings'][number]): string => {
    const count = formatNumber(f.count, lang);
    switch (f.pattern) {
      case 'login_per_request':
        return t('usage.advice.login_per_request', { n: count });
      case 'unused_pairs':
        return t('usage.advice.unused_pairs', { n: count });
      case 'timer_refresh':
        return t('usage.advice.timer_refresh', { n: count });
    }
  };
  return (
    <Card title={t('traffic.flagged')} actions={<span className="muted">{t('traffic.flaggedSubtitle', { days: periodDays })}</span>} testId="flagged-apps">
      {apps.length === 0 ? (
        <p className="muted" data-testid="flagged-none">
          {t('traffic.flaggedNone')}
        </p>
      ) : (
        apps.map((a) => (
          <div key={a.appId} className="flagged-app" data-testid="flagged-app" data-app-id={a.appId}>
            <div className="bar-label">
              <span>{a.name ?? t('traffic.deletedApp')}</span> <Mono>{a.appId}</Mono> · <AccountCell accountId={a.accountId} email={a.email} />
            </div>
            {a.findings.map((f) => (
              <p className="notice notice-warning" key={f.pattern} data-pattern={f.pattern}>
                {advice(f)}
              </p>
            ))}
          </div>
        ))
      )}
    </Card>
  );
}
