import { useState, type ReactNode } from 'react';
import { api, type SessionItem, type SessionList } from '../api.ts';
import { Button, Card, Confirm, DateCell, EmptyState, Icons, ListStates, Mono, PageHeader, RelativeCell } from '../components/ui.tsx';
import { useResource } from '../hooks.ts';
import { useI18n } from '../i18n.ts';

const PAGE_SIZE = 50;

/** One page of live sessions, with how many there are in all. */
export interface SessionPage {
  items: SessionItem[];
  total: number;
  nextCursor: string | null;
}

/** What the sessions panel does, through the cabinet API or the admin API (for one account). */
export interface SessionOps {
  page(cursor: string | null, limit: number): Promise<SessionPage>;
  revoke(id: string): Promise<void>;
  revokeAll(): Promise<void>;
}

const cabinetOps: SessionOps = {
  page(cursor, limit) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set('cursor', cursor);
    return api<SessionList>('cabinet', 'GET', `/sessions?${query.toString()}`);
  },
  async revoke(id) {
    await api('cabinet', 'POST', `/sessions/${id}/revoke`, {});
  },
  async revokeAll() {
    await api('cabinet', 'POST', '/sessions/revoke-all', {});
  },
};

export function SessionsPage(): ReactNode {
  const { t } = useI18n();
  return (
    <>
      <PageHeader title={t('sessions.title')} subtitle={t('sessions.subtitle')} />
      <SessionsPanel ops={cabinetOps} />
    </>
  );
}

/** Live sessions a page at a time (back and forth by cursor): revoke one, or all. */
export function SessionsPanel(props: { ops: SessionOps }): ReactNode {
  const { t } = useI18n();
  const { ops } = props;
  // The cursors of the pages seen so far: going back needs no reverse query.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const index = cursors.length - 1;
  // The page's place comes with its rows: until the next page has loaded, the range still names the rows shown.
  const sessions = useResource(async () => ({ ...(await ops.page(cursor, PAGE_SIZE)), index }), [ops, cursor]);
  const [revoking, setRevoking] = useState<SessionItem | null>(null);
  const [revokingAll, setRevokingAll] = useState(false);
  const now = Date.now();
  const data = sessions.data;
  const first = (data?.index ?? 0) * PAGE_SIZE;
  return (
    <>
      <ListStates
        items={data?.items ?? null}
        loading={sessions.loading}
        error={sessions.error}
        onRetry={() => void sessions.reload()}
        empty={<EmptyState icon={Icons.sessions} title={t('sessions.empty')} hint={t('sessions.emptyHint')} />}
      >
        {(items) => (
          <Card
            actions={
              data && data.total > 0 ? (
                <Button variant="danger" size="sm" onClick={() => setRevokingAll(true)} testId="revoke-all-sessions">
                  {t('sessions.revokeAll')}
                </Button>
              ) : undefined
            }
          >
            <div className="table-scroll">
              <table className="table">
                <thead>
                  <tr>
                    <th>{t('sessions.kind')}</th>
                    <th>{t('sessions.client')}</th>
                    <th>{t('sessions.scope')}</th>
                    <th>{t('sessions.started')}</th>
                    <th>{t('sessions.lastRefresh')}</th>
                    <th>{t('common.expires')}</th>
                    <th>{t('sessions.refreshes')}</th>
                    <th aria-label={t('common.actions')} />
                  </tr>
                </thead>
                <tbody>
                  {items.map((s) => (
                    <tr key={s.id} data-testid="session-row" data-session-id={s.id}>
                      <td>{t(s.kind === 'service' ? 'sessions.kind.service' : 'sessions.kind.chatapp')}</td>
                      <td>
                        <span className="muted">{t(s.kind === 'service' ? 'sessions.client.accessKey' : 'sessions.client.appId')}</span> <Mono>{s.clientId}</Mono>
                      </td>
                      <td>{s.scope.length ? <span className="chips inline">{s.scope.map((a) => <span className="chip" key={a}>{a}</span>)}</span> : <span className="muted">—</span>}</td>
                      <DateCell at={s.createdAt} withTime />
                      <RelativeCell at={s.lastRefreshAt} now={now} withTitle />
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
            </div>
            {data && (
              <div className="pager" data-testid="sessions-pager">
                <span className="muted" data-testid="sessions-range">
                  {t('sessions.range', { from: first + 1, to: first + items.length, total: data.total })}
                </span>
                <Button size="sm" variant="secondary" onClick={() => setCursors(cursors.slice(0, -1))} disabled={cursors.length <= 1 || sessions.loading} testId="sessions-prev">
                  {t('common.previous')}
                </Button>
                <Button
                  size="sm"
                  variant="secondary"
                  onClick={() => data.nextCursor && setCursors([...cursors, data.nextCursor])}
                  disabled={!data.nextCursor || sessions.loading}
                  testId="sessions-next"
                >
                  {t('common.next')}
                </Button>
              </div>
            )}
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
            await ops.revoke(revoking.id);
            await sessions.reload();
          }}
        />
      )}
      {revokingAll && data && (
        <Confirm
          title={t('sessions.revokeAllTitle', { total: data.total })}
          body={t('sessions.revokeAllBody')}
          confirmLabel={t('sessions.revokeAll')}
          danger
          onClose={() => setRevokingAll(false)}
          onConfirm={async () => {
            await ops.revokeAll();
            setCursors([null]);
            await sessions.reload();
          }}
        />
      )}
    </>
  );
}
