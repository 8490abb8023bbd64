import { useState, type ReactNode } from 'react';
import { api, type SessionItem, type SessionList } from '../api.ts';
import { Button, Card, Confirm, DateCell, EmptyState, Icons, ListStates, Mono, PageHeader, RelativeCell } from '../components/ui.tsx';
import { useResource } from '../hooks.ts';
import { useI18n } from '../i18n.ts';

export function SessionsPage(): ReactNode {
  const { t } = useI18n();
  const sessions = useResource(() => api<SessionList>('cabinet', 'GET', '/sessions'), []);
  const [revoking, setRevoking] = useState<SessionItem | null>(null);
  const now = Date.now();
  const data = sessions.data;
  return (
    <>
      <PageHeader title={t('sessions.title')} subtitle={t('sessions.subtitle')} />
      <ListStates
        items={data?.items ?? null}
        loading={sessions.loading}
        error={sessions.error}
        onRetry={() => void sessions.reload()}
        empty={<EmptyState icon={Icons.sessions} title={t('sessions.empty')} hint={t('sessions.emptyHint')} />}
      >
        {(items) => (
          <Card>
            <table className="table">
              <thead>
                <tr>
                  <th>{t('sessions.kind')}</th>
                  <th>{t('sessions.client')}</th>
                  <th>{t('sessions.scope')}</th>
                  <th>{t('sessions.started')}</th>
                  <th>{t('common.expires')}</th>
                  <th>{t('sessions.refreshes')}</th>
                  <th aria-label={t('common.actions')} />
                </tr>
              </thead>
              <tbody>
                {items.map((s) => (
                  <tr key={s.id} data-testid="session-row">
                    <td>{t(s.kind === 'service' ? 'sessions.kind.service' : 'sessions.kind.chatapp')}</td>
                    <td>
                      <Mono>{s.clientId}</Mono>
                    </td>
                    <td>{s.scope.length ? <span className="chips inline">{s.scope.map((a) => <span className="chip" key={a}>{a}</span>)}</span> : <span className="muted">—</span>}</td>
                    <DateCell at={s.createdAt} />
                    <RelativeCell at={s.expiresAt} now={now} withTitle />
                    <td>{s.generation - 1}</td>
                    <td className="row-actions">
                      <Button size="sm" variant="danger" onClick={() => setRevoking(s)} testId="revoke-session">
                        {t('common.revoke')}
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {data && data.total > items.length && <p className="muted table-note">{t('sessions.more', { shown: items.length, total: data.total })}</p>}
          </Card>
        )}
      </ListStates>
      {revoking && (
        <Confirm
          title={t('sessions.revokeTitle')}
          body={t('sessions.revokeBody')}
          confirmLabel={t('common.revoke')}
          danger
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await api('cabinet', 'POST', `/sessions/${revoking.id}/revoke`, {});
            await sessions.reload();
          }}
        />
      )}
    </>
  );
}
