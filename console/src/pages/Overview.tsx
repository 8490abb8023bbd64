import type { ReactNode } from 'react';
import { api, type ApiTokenItem, type ApiTokenList, type App, type AppList, type Me, type ServiceAccountItem, type ServiceAccountList, type SessionList, type Usage } from '../api.ts';
import { Card, CopyButton, ErrorNotice, Link, Loading, Mono, PageHeader } from '../components/ui.tsx';
import { formatNumber } from '../format.ts';
import { useResource } from '../hooks.ts';
import { useI18n, type MessageKey } from '../i18n.ts';

interface Summary {
  apps: App[];
  tokens: ApiTokenItem[];
  serviceAccounts: ServiceAccountItem[];
  sessions: SessionList;
  usage: Usage;
}

export function OverviewPage(props: { me: Me }): ReactNode {
  const { t, lang } = useI18n();
  const { account } = props.me;
  const summary = useResource<Summary>(async () => {
    const [apps, tokens, serviceAccounts, sessions, usage] = await Promise.all([
      api<AppList>('cabinet', 'GET', '/apps'),
      api<ApiTokenList>('cabinet', 'GET', '/api-tokens'),
      api<ServiceAccountList>('cabinet', 'GET', '/service-accounts'),
      api<SessionList>('cabinet', 'GET', '/sessions'),
      api<Usage>('cabinet', 'GET', '/usage?days=1'),
    ]);
    return { apps: apps.items, tokens: tokens.items, serviceAccounts: serviceAccounts.items, sessions, usage };
  }, []);

  const origin = location.origin;
  const s = summary.data;
  const firstApp = s?.apps[0]?.appId;
  const stats: { label: MessageKey; value: number; to: string }[] = s
    ? [
        { label: 'overview.apps', value: s.apps.length, to: 'apps' },
        { label: 'overview.apiTokens', value: s.tokens.filter((x) => x.status === 'active' || x.status === 'grace').length, to: 'api-tokens' },
        { label: 'overview.serviceAccounts', value: s.serviceAccounts.length, to: 'service-accounts' },
        { label: 'overview.sessions', value: s.sessions.total, to: 'sessions' },
      ]
    : [];

  return (
    <>
      <PageHeader title={t('overview.welcome', { name: account.name ?? account.email })} />
      <Card title={t('overview.account')} testId="account-card">
        <dl className="facts">
          <div>
            <dt>{t('overview.email')}</dt>
            <dd>{account.email}</dd>
          </div>
          <div>
            <dt>{t('overview.userId')}</dt>
            <dd>
              <Mono>{account.id}</Mono>
            </dd>
          </div>
          <div>
            <dt>{t('overview.uid')}</dt>
            <dd className="with-copy">
              <Mono>{account.uid}</Mono> <CopyButton value={account.uid} />
            </dd>
          </div>
        </dl>
      </Card>
      {summary.error ? <ErrorNotice error={summary.error} onRetry={() => void summary.reload()} /> : null}
      {!s && !summary.error ? <Loading /> : null}
      {s && (
        <>
          <div className="stats">
            {stats.map((stat) => (
              <Link key={stat.label} to={stat.to} className="stat">
                <span className="stat-value">{formatNumber(stat.value, lang)}</span>
                <span className="stat-label">{t(stat.label)}</span>
              </Link>
            ))}
          </div>
          <Card title={t('overview.quickstart')}>
            <div className="quickstart">
              <p>{t('overview.quickstart.chatapp')}</p>
              {firstApp ? (
                <Snippet
                  text={`curl -s -X POST ${origin}/v1/tokens -H 'Content-Type: application/json' \\\n  -d '{"email":"${account.email}","password":"…","appId":"${firstApp}"}'`}
                />
              ) : (
                <p className="muted">{t('overview.noApps')}</p>
              )}
              <p>{t('overview.quickstart.hoster')}</p>
              <Snippet text={`curl -s -X POST ${origin}/service/account/create/token \\\n  -H 'Access-Key: AK…' -H 'Secret-Key: tds_…'`} />
              <p>{t('overview.quickstart.invoicebox')}</p>
              <Snippet text={`curl -s ${origin}/v3/security/api/auth/auth -H 'Authorization: Bearer <API token>'`} />
            </div>
          </Card>
        </>
      )}
    </>
  );
}

function Snippet(props: { text: string }): ReactNode {
  return (
    <div className="snippet">
      <pre>{props.text}</pre>
      <CopyButton value={props.text.replace(/\\\n\s*/g, '')} />
    </div>
  );
}
