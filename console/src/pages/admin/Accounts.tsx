import { useEffect, useState, type ReactNode } from 'react';
import { api, type Account, type AccountPage } from '../../api.ts';
import { Button, Card, Confirm, DateCell, EmptyState, errorText, Field, fieldError, FormDialog, Icons, ListStates, LoadMore, Mono, PageHeader, SecretReveal, StatusBadge } from '../../components/ui.tsx';
import { useAction, usePages } from '../../hooks.ts';
import { useI18n } from '../../i18n.ts';

const PAGE = 50;

export function AccountsPage(): ReactNode {
  const { t, lang } = useI18n();
  const [query, setQuery] = useState('');
  const [creating, setCreating] = useState(false);
  const [disabling, setDisabling] = useState<Account | null>(null);
  const [rowError, setRowError] = useState<{ id: number; error: unknown } | null>(null);
  const [resetLink, setResetLink] = useState<{ email: string; url: string } | null>(null);
  const pages = usePages((before) => {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (query.trim()) params.set('q', query.trim());
    if (before !== null) params.set('before', String(before));
    return api<AccountPage>('admin', 'GET', `/accounts?${params}`);
  });

  // Search as you type, a moment after the last key.
  useEffect(() => {
    const timer = setTimeout(() => void pages.reload(), query ? 250 : 0);
    return () => clearTimeout(timer);
  }, [query]);

  async function setStatus(account: Account, action: 'disable' | 'enable'): Promise<void> {
    setRowError(null);
    try {
      const updated = await api<Account>('admin', 'POST', `/accounts/${account.id}/${action}`, {});
      pages.setItems((prev) => prev?.map((a) => (a.id === updated.id ? updated : a)) ?? null);
    } catch (e) {
      setRowError({ id: account.id, error: e });
      throw e;
    }
  }

  // A one-time link for the account holder (tokend sends no mail): shown once, to hand over.
  async function makeResetLink(account: Account): Promise<void> {
    setRowError(null);
    try {
      const link = await api<{ url: string; expiresAt: number }>('admin', 'POST', `/accounts/${account.id}/password-reset`, {});
      setResetLink({ email: account.email, url: link.url });
    } catch (e) {
      setRowError({ id: account.id, error: e });
    }
  }

  const newButton = (
    <Button variant="primary" onClick={() => setCreating(true)} testId="new-account">
      + {t('admin.accounts.new')}
    </Button>
  );

  return (
    <>
      <PageHeader title={t('admin.accounts.title')} subtitle={t('admin.accounts.subtitle')} actions={newButton} />
      <div className="toolbar">
        <input type="search" className="search" placeholder={t('admin.accounts.search')} aria-label={t('admin.accounts.search')} value={query} onChange={(e) => setQuery(e.target.value)} />
      </div>
      <ListStates
        items={pages.items}
        loading={pages.loading}
        error={pages.error}
        onRetry={() => void pages.reload()}
        context="operator"
        empty={
          query ? (
            <EmptyState icon={Icons.people} title={t('admin.accounts.noMatch')} />
          ) : (
            <EmptyState icon={Icons.people} title={t('admin.accounts.empty')} hint={t('admin.accounts.emptyHint')} action={newButton} />
          )
        }
      >
        {(items) => (
          <Card>
            <table className="table">
              <thead>
                <tr>
                  <th>ID</th>
                  <th>{t('signin.email')}</th>
                  <th>{t('common.name')}</th>
                  <th>{t('common.status')}</th>
                  <th>{t('common.created')}</th>
                  <th aria-label={t('common.actions')} />
                </tr>
              </thead>
              <tbody>
                {items.map((a) => (
                  <tr key={a.id} data-testid="account-row" data-email={a.email}>
                    <td>
                      <Mono>{a.id}</Mono>
                    </td>
                    <td>
                      {a.email} {a.isDemo && <span className="tag">{t('admin.accounts.demo')}</span>}
                    </td>
                    <td>{a.name ?? <span className="muted">—</span>}</td>
                    <td>
                      <StatusBadge status={a.status} />
                    </td>
                    <DateCell at={a.createdAt} />
                    <td className="row-actions">
                      <Button size="sm" onClick={() => void makeResetLink(a)} testId="reset-link">
                        {t('admin.accounts.resetLink')}
                      </Button>
                      {a.status === 'active' ? (
                        <Button size="sm" variant="danger" onClick={() => setDisabling(a)} testId="disable-account">
                          {t('common.disable')}
                        </Button>
                      ) : (
                        <Button size="sm" onClick={() => void setStatus(a, 'enable').catch(() => {})} testId="enable-account">
                          {t('common.enable')}
                        </Button>
                      )}
                      {rowError?.id === a.id && <div className="field-error">{errorText(rowError.error, t, lang)}</div>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <LoadMore next={pages.next} loading={pages.loading} onMore={() => void pages.more()} />
          </Card>
        )}
      </ListStates>
      {creating && (
        <CreateDialog
          onClose={() => setCreating(false)}
          onCreated={(account) => {
            setCreating(false);
            pages.setItems((prev) => [account, ...(prev ?? [])]);
          }}
        />
      )}
      {resetLink && (
        <SecretReveal
          title={t('admin.accounts.resetLinkTitle', { email: resetLink.email })}
          items={[{ label: t('admin.accounts.resetLinkLabel'), value: resetLink.url, secret: true, testId: 'reset-link-url' }]}
          onDone={() => setResetLink(null)}
        />
      )}
      {disabling && (
        <Confirm
          title={t('admin.accounts.disableTitle', { email: disabling.email })}
          body={t('admin.accounts.disableBody')}
          confirmLabel={t('common.disable')}
          danger
          onClose={() => setDisabling(null)}
          onConfirm={() => setStatus(disabling, 'disable')}
        />
      )}
    </>
  );
}

function CreateDialog(props: { onClose: () => void; onCreated: (account: Account) => void }): ReactNode {
  const { t } = useI18n();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const create = useAction(async () => {
    props.onCreated(await api<Account>('admin', 'POST', '/accounts', { email, password, ...(name.trim() ? { name: name.trim() } : {}) }));
  });
  return (
    <FormDialog
      title={t('admin.accounts.new')}
      submitLabel={t('common.create')}
      submitTestId="create-account"
      action={create}
      fields={['email', 'password', 'name']}
      onSubmit={() => void create.run()}
      onClose={props.onClose}
    >
      <Field label={t('signin.email')} error={fieldError(create.error, 'email', t)}>
        {(id, d) => <input id={id} aria-describedby={d} type="email" name="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />}
      </Field>
      <Field label={t('signin.password')} error={fieldError(create.error, 'password', t)}>
        {(id, d) => <input id={id} aria-describedby={d} type="password" name="new-password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
      </Field>
      <Field label={t('common.name')} optional error={fieldError(create.error, 'name', t)}>
        {(id, d) => <input id={id} aria-describedby={d} name="name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />}
      </Field>
    </FormDialog>
  );
}
