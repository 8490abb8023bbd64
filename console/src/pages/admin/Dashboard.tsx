/**
 * The operator's landing page: how many accounts there are; the traffic over a chosen range (token
 * checks by outcome, refusals by reason, issuances and refreshes, the busiest accounts and tokens,
 * apps whose clients misuse their tokens: GET /api/admin/stats); the instance's token checks per
 * day; the latest audit entries. The admin API has no totals of API tokens or sessions across the
 * instance, so the page shows none rather than an estimate.
 */
import type { ReactNode } from 'react';
import { api, type AccountPage, type AdminAuditPage, type InstanceUsage } from '../../api.ts';
import { TrafficSection } from './Traffic.tsx';
import { AuditTable } from '../../components/AuditTable.tsx';
import { ChecksCard } from '../../components/charts.tsx';
import { Button, Card, EmptyState, ErrorNotice, Icons, Link, Loading, PageHeader } from '../../components/ui.tsx';
import { formatNumber } from '../../format.ts';
import { useResource } from '../../hooks.ts';
import { useI18n } from '../../i18n.ts';
import { navigate } from '../../router.ts';

/** Accounts counted per status from one list page each: beyond it, "500+" rather than a count. */
const COUNT_LIMIT = 500;
const DAYS = 14;
const LATEST = 8;

interface Count {
  n: number;
  more: boolean;
}

async function countAccounts(status: 'active' | 'disabled'): Promise<Count> {
  const page = await api<AccountPage>('admin', 'GET', `/accounts?status=${status}&limit=${COUNT_LIMIT}`);
  return { n: page.items.length, more: page.nextCursor !== null };
}

export function DashboardPage(): ReactNode {
  const { t, lang } = useI18n();
  const counts = useResource(async () => {
    const [active, disabled] = await Promise.all([countAccounts('active'), countAccounts('disabled')]);
    return { active, disabled };
  }, []);
  const usage = useResource(() => api<InstanceUsage>('admin', 'GET', `/usage?days=${DAYS}`), []);
  const audit = useResource(async () => (await api<AdminAuditPage>('admin', 'GET', `/audit?limit=${LATEST}`)).items, []);
  const show = (c: Count): string => formatNumber(c.n, lang) + (c.more ? '+' : '');
  const stats = counts.data
    ? [
        { label: t('dashboard.accountsActive'), value: show(counts.data.active), testId: 'stat-accounts-active' },
        { label: t('dashboard.accountsDisabled'), value: show(counts.data.disabled), testId: 'stat-accounts-disabled' },
      ]
    : [];
  return (
    <>
      <PageHeader title={t('dashboard.title')} subtitle={t('dashboard.subtitle')} />
      {counts.error ? <ErrorNotice error={counts.error} onRetry={() => void counts.reload()} context="operator" /> : null}
      {counts.loading && !counts.data ? <Loading /> : null}
      {stats.length > 0 && (
        <div className="stats">
          {stats.map((s) => (
            <Link key={s.testId} to="admin/accounts" className="stat" testId={s.testId}>
              <span className="stat-value">{s.value}</span>
              <span className="stat-label">{s.label}</span>
            </Link>
          ))}
        </div>
      )}
      <TrafficSection />
      {usage.error ? <ErrorNotice error={usage.error} onRetry={() => void usage.reload()} context="operator" /> : null}
      {usage.loading && !usage.data ? <Loading /> : null}
      {usage.data && <ChecksCard checks={usage.data.checks} />}
      {audit.error ? <ErrorNotice error={audit.error} onRetry={() => void audit.reload()} context="operator" /> : null}
      {audit.loading && !audit.data ? <Loading /> : null}
      {audit.data && (
        <Card
          title={t('dashboard.latest')}
          actions={
            <Button size="sm" variant="ghost" onClick={() => navigate('admin/audit')} testId="dashboard-all-audit">
              {t('dashboard.allEntries')}
            </Button>
          }
          testId="dashboard-audit"
        >
          {audit.data.length === 0 ? <EmptyState icon={Icons.activity} title={t('activity.empty')} /> : <AuditTable items={audit.data} withAccount />}
        </Card>
      )}
    </>
  );
}
