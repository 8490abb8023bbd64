import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { api, type Account } from '../../api.ts';
import { Button, Card, Confirm, EmptyState, ErrorNotice, errorText, Field, fieldError, Icons, Loading, Modal, Mono, PageHeader, StatusBadge } from '../../components/ui.tsx';
import { formatDate, formatDateTime } from '../../format.ts';
import { useI18n } from '../../i18n.ts';

const PAGE = 50;

export function AccountsPage(): ReactNode {
  const { t, lang } = useI18n();
  const [query, setQuery] = useState('');
  const [items, setItems] = useState<Account[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const [disabling, setDisabling] = useState<Account | null>(null);
  const [rowError, setRowError] = useState<{ id: number; error: unknown } | null>(null);

  async function load(before: number | null, append: boolean, q = query): Promise<void> {
    setLoading(true);
    setError(null);
    try {
      const params = new URLSearchParams({ limit: String(PAGE) });
      if (q.trim()) params.set('q', q.trim());
      if (before) params.set('before', String(before));
      const page = await api<{ items: Account[]; nextBefore: number | null }>('admin', 'GET', `/accounts?${params}`);
      setItems((prev) => (append && prev ? [...prev, ...page.items] : page.items));
      setNext(page.nextBefore);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }

  // Search as you type, a moment after the last key.
  useEffect(() => {
    const timer = setTimeout(() => void load(null, false, query), query ? 250 : 0);
    return () => clearTimeout(timer);
  }, [query]);

  async function setStatus(account: Account, action: 'disable' | 'enable'): Promise<void> {
    setRowError(null);
    try {
      const updated = await api<Account>('admin', 'POST', `/accounts/${account.id}/${action}`, {});
      setItems((prev) => prev?.map((a) => (a.id === updated.id ? updated : a)) ?? null);
    } catch (e) {
      setRowError({ id: account.id, error: e });
      throw e;
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
      {error ? <ErrorNotice error={error} onRetry={() => void load(null, false)} context="operator" /> : null}
      {loading && !items ? <Loading /> : null}
      {items && items.length === 0 && (
        <Card>
          {query ? (
            <EmptyState icon={Icons.people} title={t('admin.accounts.noMatch')} />
          ) : (
            <EmptyState icon={Icons.people} title={t('admin.accounts.empty')} hint={t('admin.accounts.emptyHint')} action={newButton} />
          )}
        </Card>
      )}
      {items && items.length > 0 && (
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
                  <td className="nowrap" title={formatDateTime(a.createdAt, lang)}>
                    {formatDate(a.createdAt, lang)}
                  </td>
                  <td className="row-actions">
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
          {next !== null && (
            <div className="table-more">
              <Button onClick={() => void load(next, true)} busy={loading}>
                {t('common.loadMore')}
              </Button>
            </div>
          )}
        </Card>
      )}
      {creating && (
        <CreateDialog
          onClose={() => setCreating(false)}
          onCreated={(account) => {
            setCreating(false);
            setItems((prev) => [account, ...(prev ?? [])]);
          }}
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
  const { t, lang } = useI18n();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function submit(e?: FormEvent): Promise<void> {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const account = await api<Account>('admin', 'POST', '/accounts', { email, password, ...(name.trim() ? { name: name.trim() } : {}) });
      props.onCreated(account);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  const errors = { email: fieldError(error, 'email', t), password: fieldError(error, 'password', t), name: fieldError(error, 'name', t) };
  return (
    <Modal
      title={t('admin.accounts.new')}
      onClose={props.onClose}
      footer={
        <>
          <Button variant="ghost" onClick={props.onClose}>
            {t('common.cancel')}
          </Button>
          <Button variant="primary" busy={busy} onClick={() => void submit()} testId="create-account">
            {t('common.create')}
          </Button>
        </>
      }
    >
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Field label={t('signin.email')} error={errors.email}>
          {(id, d) => <input id={id} aria-describedby={d} type="email" name="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />}
        </Field>
        <Field label={t('signin.password')} error={errors.password}>
          {(id, d) => <input id={id} aria-describedby={d} type="password" name="new-password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        <Field label={t('common.name')} optional error={errors.name}>
          {(id, d) => <input id={id} aria-describedby={d} name="name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />}
        </Field>
        {error && !errors.email && !errors.password && !errors.name ? (
          <div className="notice notice-error" role="alert">
            {errorText(error, t, lang)}
          </div>
        ) : null}
      </form>
    </Modal>
  );
}
