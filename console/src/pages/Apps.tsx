import { useState, type ReactNode } from 'react';
import { api, type AppList, type Me, type Usage } from '../api.ts';
import { Button, Card, CopyButton, DateCell, EmptyState, Field, fieldError, FormDialog, Icons, ListStates, Mono, PageHeader } from '../components/ui.tsx';
import { useAction, useResource } from '../hooks.ts';
import { useI18n } from '../i18n.ts';

export function AppsPage(props: { me: Me }): ReactNode {
  const { t } = useI18n();
  const [creating, setCreating] = useState(false);
  const apps = useResource(async () => {
    const [list, usage] = await Promise.all([api<AppList>('cabinet', 'GET', '/apps'), api<Usage>('cabinet', 'GET', '/usage?days=1')]);
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
      <ListStates
        items={apps.data}
        loading={apps.loading}
        error={apps.error}
        onRetry={() => void apps.reload()}
        empty={<EmptyState icon={Icons.apps} title={t('apps.empty')} hint={t('apps.emptyHint')} action={newButton} />}
      >
        {(items) => (
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
                {items.map((a) => (
                  <tr key={a.appId}>
                    <td>{a.name}</td>
                    <td className="with-copy">
                      <Mono>{a.appId}</Mono> <CopyButton value={a.appId} />
                    </td>
                    <td>
                      {a.used} / {limit}
                    </td>
                    <DateCell at={a.createdAt} />
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
        )}
      </ListStates>
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
  const { t } = useI18n();
  const [name, setName] = useState('');
  const create = useAction(async () => {
    await api('cabinet', 'POST', '/apps', { name });
    props.onCreated();
  });
  return (
    <FormDialog
      title={t('apps.new')}
      submitLabel={t('common.create')}
      submitTestId="create-app"
      action={create}
      fields={['name']}
      onSubmit={() => void create.run()}
      onClose={props.onClose}
    >
      <Field label={t('apps.name')} error={fieldError(create.error, 'name', t)}>
        {(id, d) => <input id={id} aria-describedby={d} value={name} maxLength={200} placeholder={t('apps.namePlaceholder')} onChange={(e) => setName(e.target.value)} />}
      </Field>
    </FormDialog>
  );
}
