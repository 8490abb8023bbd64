import { useState, type FormEvent, type ReactNode } from 'react';
import { api, type App, type Me, type Usage } from '../api.ts';
import { Button, Card, CopyButton, EmptyState, ErrorNotice, errorText, Field, fieldError, Icons, Loading, Modal, Mono, PageHeader } from '../components/ui.tsx';
import { formatDate, formatDateTime } from '../format.ts';
import { useResource } from '../hooks.ts';
import { useI18n } from '../i18n.ts';

export function AppsPage(props: { me: Me }): ReactNode {
  const { t, lang } = useI18n();
  const [creating, setCreating] = useState(false);
  const apps = useResource(async () => {
    const [list, usage] = await Promise.all([api<{ items: App[] }>('cabinet', 'GET', '/apps'), api<Usage>('cabinet', 'GET', '/usage?days=1')]);
    const used = new Map(usage.apps.map((a) => [a.appId, a.used]));
    return list.items.map((a) => ({ ...a, used: used.get(a.appId) ?? 0 }));
  }, []);
  const limit = props.me.limits.dailyMakeLimit;

  const newButton = (
    <Button variant="primary" onClick={() => setCreating(true)} testId="new-app">
      + {t('apps.new')}
    </Button>
  );
  return (
    <>
      <PageHeader title={t('apps.title')} subtitle={t('apps.subtitle')} actions={newButton} />
      {apps.error ? <ErrorNotice error={apps.error} onRetry={() => void apps.reload()} /> : null}
      {apps.loading && !apps.data ? <Loading /> : null}
      {apps.data && apps.data.length === 0 && (
        <Card>
          <EmptyState icon={Icons.apps} title={t('apps.empty')} hint={t('apps.emptyHint')} action={newButton} />
        </Card>
      )}
      {apps.data && apps.data.length > 0 && (
        <Card>
          <table className="table">
            <thead>
              <tr>
                <th>{t('common.name')}</th>
                <th>{t('apps.appId')}</th>
                <th>{t('apps.makesToday')}</th>
                <th>{t('common.created')}</th>
              </tr>
            </thead>
            <tbody>
              {apps.data.map((a) => (
                <tr key={a.appId}>
                  <td>{a.name}</td>
                  <td className="with-copy">
                    <Mono>{a.appId}</Mono> <CopyButton value={a.appId} />
                  </td>
                  <td>
                    {a.used} / {limit}
                  </td>
                  <td className="nowrap" title={formatDateTime(a.createdAt, lang)}>
                    {formatDate(a.createdAt, lang)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
      {creating && (
        <NewAppDialog
          onClose={() => setCreating(false)}
          onCreated={() => {
            setCreating(false);
            void apps.reload();
          }}
        />
      )}
    </>
  );
}

function NewAppDialog(props: { onClose: () => void; onCreated: () => void }): ReactNode {
  const { t, lang } = useI18n();
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function submit(e?: FormEvent): Promise<void> {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('cabinet', 'POST', '/apps', { name });
      props.onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  const nameError = fieldError(error, 'name', t);
  return (
    <Modal
      title={t('apps.new')}
      onClose={props.onClose}
      footer={
        <>
          <Button variant="ghost" onClick={props.onClose}>
            {t('common.cancel')}
          </Button>
          <Button variant="primary" busy={busy} onClick={() => void submit()} testId="create-app">
            {t('common.create')}
          </Button>
        </>
      }
    >
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Field label={t('apps.name')} error={nameError}>
          {(id, d) => <input id={id} aria-describedby={d} value={name} maxLength={200} placeholder={t('apps.namePlaceholder')} onChange={(e) => setName(e.target.value)} />}
        </Field>
        {error && !nameError ? (
          <div className="notice notice-error" role="alert">
            {errorText(error, t, lang)}
          </div>
        ) : null}
      </form>
    </Modal>
  );
}
