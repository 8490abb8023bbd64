import { useState, type ReactNode } from 'react';
import { api, type SigningKeyList } from '../../api.ts';
import { Button, Card, Confirm, EmptyState, ErrorNotice, Icons, Loading, Mono, PageHeader, StatusBadge } from '../../components/ui.tsx';
import { formatDateTime } from '../../format.ts';
import { useResource } from '../../hooks.ts';
import { useI18n } from '../../i18n.ts';

export function SigningKeysPage(): ReactNode {
  const { t, lang } = useI18n();
  const keys = useResource(async () => (await api<SigningKeyList>('admin', 'GET', '/signing-keys')).items, []);
  const [rotating, setRotating] = useState(false);
  const when = (ms: number | null): ReactNode => (ms === null ? <span className="muted">—</span> : formatDateTime(ms, lang));
  return (
    <>
      <PageHeader
        title={t('admin.keys.title')}
        subtitle={t('admin.keys.subtitle')}
        actions={
          <Button variant="primary" onClick={() => setRotating(true)} testId="rotate-signing-key">
            {t('admin.keys.rotate')}
          </Button>
        }
      />
      {keys.error ? <ErrorNotice error={keys.error} onRetry={() => void keys.reload()} context="operator" /> : null}
      {keys.loading && !keys.data ? <Loading /> : null}
      {keys.data && keys.data.length === 0 && (
        <Card>
          <EmptyState icon={Icons.key} title={t('admin.keys.empty')} />
        </Card>
      )}
      {keys.data && keys.data.length > 0 && (
        <Card>
          <table className="table">
            <thead>
              <tr>
                <th>{t('admin.keys.kid')}</th>
                <th>{t('admin.keys.alg')}</th>
                <th>{t('admin.keys.state')}</th>
                <th>{t('admin.keys.published')}</th>
                <th>{t('admin.keys.signsFrom')}</th>
                <th>{t('admin.keys.signsUntil')}</th>
                <th>{t('admin.keys.publishedUntil')}</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr key={k.kid} data-testid="signing-key-row" data-state={k.state}>
                  <td>
                    <Mono title={k.kid}>{k.kid.slice(0, 16)}…</Mono>
                  </td>
                  <td>{k.alg}</td>
                  <td>
                    <StatusBadge status={k.state} />
                  </td>
                  <td>{k.published ? <span className="yes">✓ {t('common.yes')}</span> : <span className="muted">{t('common.no')}</span>}</td>
                  <td>{when(k.activatesAt)}</td>
                  <td>{when(k.signsUntil)}</td>
                  <td>{when(k.publishedUntil)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
      {rotating && (
        <Confirm
          title={t('admin.keys.rotateTitle')}
          body={t('admin.keys.rotateBody')}
          confirmLabel={t('admin.keys.rotate')}
          onClose={() => setRotating(false)}
          onConfirm={async () => {
            await api('admin', 'POST', '/signing-keys/rotate', {});
            await keys.reload();
          }}
        />
      )}
    </>
  );
}
