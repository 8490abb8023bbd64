/**
 * One account, as the operator sees it: who it is, what can be done to it (disable or enable, set
 * a password, a one-time reset link, delete), and what it owns, a tab each: apps, service accounts
 * and keys, API tokens, sessions, and its audit entries. The tabs reuse the cabinet's panels with
 * the admin API behind them (src/http/native/admin/*; docs/admin-api.md).
 */
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import {
  api,
  ApiError,
  type Account,
  type AdminApiTokenPage,
  type AdminAppPage,
  type AdminNewApiToken,
  type AdminNewServiceKey,
  type AdminRotatedApiToken,
  type AdminServiceAccountPage,
  type AdminSessionPage,
  type App,
  type ResetLink,
  type TokenUsage,
} from '../../api.ts';
import { AuditTable } from '../../components/AuditTable.tsx';
import {
  Button,
  Card,
  Confirm,
  CopyButton,
  cx,
  DateCell,
  EmptyState,
  ErrorNotice,
  Field,
  fieldError,
  FormDialog,
  Icons,
  Link,
  ListStates,
  Loading,
  LoadMore,
  Mono,
  PageHeader,
  SecretReveal,
  StatusBadge,
} from '../../components/ui.tsx';
import { formatDateTime } from '../../format.ts';
import { useAction, usePages, useResource } from '../../hooks.ts';
import { useI18n, type MessageKey } from '../../i18n.ts';
import { navigate } from '../../router.ts';
import { ApiTokensPanel, type ApiTokenOps } from '../ApiTokens.tsx';
import { ServiceAccountsPanel, type ServiceAccountOps } from '../ServiceAccounts.tsx';
import { SessionsPanel, type SessionOps } from '../Sessions.tsx';
import { useAuditPages } from './Audit.tsx';

/** `admin/accounts/<id>` and `admin/accounts/<id>/<tab>`. */
export const ACCOUNT_ROUTE = /^admin\/accounts\/([1-9][0-9]{0,15})(?:\/([a-z-]+))?$/;

const TABS = ['apps', 'service-accounts', 'api-tokens', 'sessions', 'activity'] as const;
type Tab = (typeof TABS)[number];
const TAB_LABELS: Record<Tab, MessageKey> = {
  apps: 'nav.apps',
  'service-accounts': 'nav.serviceAccounts',
  'api-tokens': 'nav.apiTokens',
  sessions: 'nav.sessions',
  activity: 'nav.activity',
};
/** Lists of an account's records read this many at a time. */
const PAGE = 100;

function paged(path: string, cursor: string | null): string {
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (cursor) q.set('cursor', cursor);
  return `${path}?${q}`;
}

/** Durations go to the admin API with a unit; none means the server's default. */
function days(n: number | null): { expiresIn?: string } {
  return n === null ? {} : { expiresIn: `${n}d` };
}

function tokenOps(accountId: number): ApiTokenOps {
  return {
    async page(cursor) {
      const p = await api<AdminApiTokenPage>('admin', 'GET', paged(`/accounts/${accountId}/api-tokens`, cursor));
      return { items: p.items, next: p.nextCursor };
    },
    async create(input) {
      const created = await api<AdminNewApiToken>('admin', 'POST', `/accounts/${accountId}/api-tokens`, {
        format: input.format,
        ...(input.label ? { label: input.label } : {}),
        ...days(input.expiresInDays),
      });
      return { token: created.token, format: created.format };
    },
    async rotate(id, graceSeconds) {
      // No grace is the default (and `0s` is not a duration the API takes).
      const rotated = await api<AdminRotatedApiToken>('admin', 'POST', `/api-tokens/${id}/rotate`, graceSeconds > 0 ? { grace: `${graceSeconds}s` } : {});
      return { token: rotated.token, format: rotated.format };
    },
    async revoke(id) {
      await api('admin', 'POST', `/api-tokens/${id}/revoke`, {});
    },
    usage: (id, days) => api<TokenUsage>('admin', 'GET', `/api-tokens/${id}/usage?days=${days}`),
  };
}

function serviceAccountOps(accountId: number): ServiceAccountOps {
  return {
    async page(cursor) {
      const p = await api<AdminServiceAccountPage>('admin', 'GET', paged(`/accounts/${accountId}/service-accounts`, cursor));
      return { items: p.items, next: p.nextCursor };
    },
    async create(input) {
      await api('admin', 'POST', `/accounts/${accountId}/service-accounts`, input);
    },
    async setStatus(id, action) {
      await api('admin', 'POST', `/service-accounts/${id}/${action}`, {});
    },
    async newKey(id, expiresInDays) {
      const created = await api<AdminNewServiceKey>('admin', 'POST', `/service-accounts/${id}/keys`, days(expiresInDays));
      return { accessKey: created.accessKey, secretKey: created.secretKey };
    },
    async revokeKey(id, keyId) {
      await api('admin', 'POST', `/service-accounts/${id}/keys/${keyId}/revoke`, {});
    },
  };
}

function sessionOps(accountId: number): SessionOps {
  return {
    page(cursor, limit) {
      const q = new URLSearchParams({ limit: String(limit) });
      if (cursor) q.set('cursor', cursor);
      return api<AdminSessionPage>('admin', 'GET', `/accounts/${accountId}/sessions?${q}`);
    },
    async revoke(id) {
      await api('admin', 'POST', `/sessions/${id}/revoke`, {});
    },
    async revokeAll() {
      await api('admin', 'POST', `/accounts/${accountId}/sessions/revoke-all`, {});
    },
  };
}

export function AccountPage(props: { id: number; tab: string | null }): ReactNode {
  const { t } = useI18n();
  const { id } = props;
  const account = useResource(() => api<Account>('admin', 'GET', `/accounts/${id}`), [id]);
  const tab: Tab = (TABS as readonly string[]).includes(props.tab ?? '') ? (props.tab as Tab) : 'apps';
  const a = account.data;
  return (
    <>
      <nav className="crumbs" aria-label={t('account.crumbs')}>
        <Link to="admin/accounts">← {t('nav.accounts')}</Link>
      </nav>
      {account.error ? <ErrorNotice error={account.error} onRetry={() => void account.reload()} context="operator" /> : null}
      {account.loading && !a ? <Loading /> : null}
      {a && (
        <>
          <PageHeader title={a.name ?? a.email} subtitle={a.name ? a.email : undefined} />
          <AccountCard account={a} onChanged={() => void account.reload()} />
          <div className="tabs tabs-scroll" role="tablist" aria-label={t('account.sections')}>
            {TABS.map((x) => (
              <Link key={x} to={`admin/accounts/${id}/${x}`} replace role="tab" selected={tab === x} className={cx('tab', tab === x && 'active')} testId={`account-tab-${x}`}>
                {t(TAB_LABELS[x])}
              </Link>
            ))}
          </div>
          <div role="tabpanel" data-testid={`account-panel-${tab}`}>
            {tab === 'apps' && <AppsTab accountId={id} />}
            {tab === 'service-accounts' && <ServiceAccountsTab accountId={id} />}
            {tab === 'api-tokens' && <ApiTokensTab accountId={id} />}
            {tab === 'sessions' && <SessionsTab accountId={id} />}
            {tab === 'activity' && <ActivityTab accountId={id} />}
          </div>
        </>
      )}
    </>
  );
}

/** The panels reload when their operations change: one set per account. */
function useMemoOps<T>(make: (accountId: number) => T, accountId: number): T {
  return useMemo(() => make(accountId), [make, accountId]);
}

function AccountCard(props: { account: Account; onChanged: () => void }): ReactNode {
  const { t, lang } = useI18n();
  const a = props.account;
  const [dialog, setDialog] = useState<'edit' | 'disable' | 'password' | 'delete' | null>(null);
  const [resetLink, setResetLink] = useState<ResetLink | null>(null);
  const [notice, setNotice] = useState<MessageKey | null>(null);
  const enable = useAction(async () => {
    await api('admin', 'POST', `/accounts/${a.id}/enable`, {});
    props.onChanged();
  });
  const reset = useAction(async () => {
    setNotice(null);
    setResetLink(await api<ResetLink>('admin', 'POST', `/accounts/${a.id}/password-reset`, {}));
  });
  return (
    <Card
      testId="account-facts"
      title={
        <span className="title-with-badge">
          {t('account.title')} <StatusBadge status={a.status} />
        </span>
      }
      actions={
        <>
          <Button size="sm" onClick={() => setDialog('edit')} testId="account-edit">
            {t('account.edit')}
          </Button>
          {a.status === 'active' ? (
            <Button size="sm" variant="ghost" onClick={() => setDialog('disable')} testId="account-disable">
              {t('common.disable')}
            </Button>
          ) : (
            <Button size="sm" onClick={() => void enable.run()} busy={enable.busy} testId="account-enable">
              {t('common.enable')}
            </Button>
          )}
          <Button size="sm" onClick={() => setDialog('password')} testId="account-set-password">
            {t('account.setPassword')}
          </Button>
          <Button size="sm" onClick={() => void reset.run()} busy={reset.busy} testId="account-reset-link">
            {t('admin.accounts.resetLink')}
          </Button>
          <Button size="sm" variant="danger" onClick={() => setDialog('delete')} testId="account-delete">
            {t('common.delete')}
          </Button>
        </>
      }
    >
      {enable.error ? <ErrorNotice error={enable.error} context="operator" /> : null}
      {reset.error ? <ErrorNotice error={reset.error} context="operator" /> : null}
      {notice && (
        <div className="notice notice-warning" role="status" data-testid="account-notice">
          {t(notice)}
        </div>
      )}
      <dl className="facts">
        <div>
          <dt>{t('overview.email')}</dt>
          <dd data-testid="account-email">{a.email}</dd>
        </div>
        <div>
          <dt>{t('overview.userId')}</dt>
          <dd>
            <Mono>{a.id}</Mono>
          </dd>
        </div>
        <div>
          <dt>{t('overview.uid')}</dt>
          <dd className="with-copy">
            <Mono>{a.uid}</Mono> <CopyButton value={a.uid} />
          </dd>
        </div>
        <div>
          <dt>{t('common.created')}</dt>
          <dd>{formatDateTime(a.createdAt, lang)}</dd>
        </div>
      </dl>
      {dialog === 'edit' && (
        <EditDialog
          account={a}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            props.onChanged();
          }}
        />
      )}
      {dialog === 'disable' && (
        <Confirm
          title={t('admin.accounts.disableTitle', { email: a.email })}
          body={t('admin.accounts.disableBody')}
          confirmLabel={t('common.disable')}
          danger
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await api('admin', 'POST', `/accounts/${a.id}/disable`, {});
            props.onChanged();
          }}
        />
      )}
      {dialog === 'password' && (
        <PasswordDialog
          account={a}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null);
            setNotice('account.passwordSet');
          }}
        />
      )}
      {dialog === 'delete' && <DeleteDialog account={a} onClose={() => setDialog(null)} />}
      {resetLink && (
        <SecretReveal
          title={t('admin.accounts.resetLinkTitle', { email: a.email })}
          items={[{ label: t('admin.accounts.resetLinkLabel'), value: resetLink.url, secret: true, testId: 'reset-link-url' }]}
          onDone={() => setResetLink(null)}
        />
      )}
    </Card>
  );
}

/** The name (empty removes it) and the email (another account's is refused: email_taken). */
function EditDialog(props: { account: Account; onClose: () => void; onSaved: () => void }): ReactNode {
  const { t } = useI18n();
  const [name, setName] = useState(props.account.name ?? '');
  const [email, setEmail] = useState(props.account.email);
  const save = useAction(async () => {
    const changes = {
      ...(name.trim() !== (props.account.name ?? '') ? { name: name.trim() || null } : {}),
      ...(email.trim() !== props.account.email ? { email: email.trim() } : {}),
    };
    if (Object.keys(changes).length > 0) await api('admin', 'PATCH', `/accounts/${props.account.id}`, changes);
    props.onSaved();
  });
  return (
    <FormDialog
      title={t('account.editTitle', { email: props.account.email })}
      testId="edit-account-dialog"
      submitLabel={t('common.save')}
      submitTestId="edit-account-save"
      action={save}
      fields={['name', 'email']}
      onSubmit={() => void save.run()}
      onClose={props.onClose}
    >
      <Field label={t('common.name')} optional error={fieldError(save.error, 'name', t)}>
        {(id, d) => <input id={id} aria-describedby={d} name="name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field label={t('signin.email')} hint={t('account.emailHint')} error={fieldError(save.error, 'email', t)}>
        {(id, d) => <input id={id} aria-describedby={d} type="email" name="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />}
      </Field>
    </FormDialog>
  );
}

function PasswordDialog(props: { account: Account; onClose: () => void; onDone: () => void }): ReactNode {
  const { t } = useI18n();
  const [password, setPassword] = useState('');
  const save = useAction(async () => {
    await api('admin', 'PUT', `/accounts/${props.account.id}/password`, { password });
    props.onDone();
  });
  // The password rules refuse it as `invalid`: say which rule, in the reader's language.
  const tooShort = save.error instanceof ApiError && save.error.field('password')?.code === 'invalid' ? t('password.rules') : undefined;
  return (
    <FormDialog
      title={t('account.setPasswordTitle', { email: props.account.email })}
      testId="password-dialog"
      submitLabel={t('account.setPassword')}
      submitTestId="password-save"
      action={save}
      fields={['password']}
      onSubmit={() => void save.run()}
      onClose={props.onClose}
    >
      <p>{t('account.setPasswordBody')}</p>
      <Field label={t('password.new')} hint={t('password.rules')} error={tooShort ?? fieldError(save.error, 'password', t)}>
        {(id, d) => <input id={id} aria-describedby={d} type="password" name="new-password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
      </Field>
    </FormDialog>
  );
}

/** Deleting cannot be undone: the operator types the account's email to confirm. */
function DeleteDialog(props: { account: Account; onClose: () => void }): ReactNode {
  const { t } = useI18n();
  const [typed, setTyped] = useState('');
  const matches = typed.trim().toLowerCase() === props.account.email.toLowerCase();
  const remove = useAction(async () => {
    if (!matches) return;
    await api('admin', 'DELETE', `/accounts/${props.account.id}`);
    navigate('admin/accounts', { replace: true });
  });
  return (
    <FormDialog
      title={t('account.deleteTitle', { email: props.account.email })}
      testId="delete-dialog"
      submitLabel={t('account.deleteConfirm')}
      submitVariant="danger"
      submitTestId="delete-confirm"
      action={remove}
      submitDisabled={!matches}
      onSubmit={() => void remove.run()}
      onClose={props.onClose}
    >
      <p>{t('account.deleteBody')}</p>
      <Field label={t('account.deleteType', { email: props.account.email })}>
        {(id) => <input id={id} name="confirm-email" autoComplete="off" value={typed} onChange={(e) => setTyped(e.target.value)} data-testid="delete-type" />}
      </Field>
    </FormDialog>
  );
}

function ApiTokensTab(props: { accountId: number }): ReactNode {
  const { t } = useI18n();
  const ops = useMemoOps(tokenOps, props.accountId);
  const [creating, setCreating] = useState(false);
  const newButton = (
    <Button variant="primary" onClick={() => setCreating(true)} testId="new-api-token">
      + {t('tokens.new')}
    </Button>
  );
  return (
    <>
      <div className="tab-actions">{newButton}</div>
      <ApiTokensPanel ops={ops} newButton={newButton} creating={creating} onCreating={setCreating} />
    </>
  );
}

function ServiceAccountsTab(props: { accountId: number }): ReactNode {
  const { t } = useI18n();
  const ops = useMemoOps(serviceAccountOps, props.accountId);
  const [creating, setCreating] = useState(false);
  const newButton = (
    <Button variant="primary" onClick={() => setCreating(true)} testId="new-service-account">
      + {t('sa.new')}
    </Button>
  );
  return (
    <>
      <div className="tab-actions">{newButton}</div>
      <ServiceAccountsPanel ops={ops} newButton={newButton} creating={creating} onCreating={setCreating} />
    </>
  );
}

function SessionsTab(props: { accountId: number }): ReactNode {
  return <SessionsPanel ops={useMemoOps(sessionOps, props.accountId)} />;
}

function ActivityTab(props: { accountId: number }): ReactNode {
  const { t } = useI18n();
  const filters = useMemo(() => ({ account: String(props.accountId), type: '', since: '', until: '' }), [props.accountId]);
  const pages = useAuditPages(filters, 0);
  return (
    <ListStates
      items={pages.items}
      loading={pages.loading}
      error={pages.error}
      onRetry={() => void pages.reload()}
      context="operator"
      empty={<EmptyState icon={Icons.activity} title={t('activity.empty')} />}
    >
      {(items) => (
        <Card>
          <AuditTable items={items} />
          <LoadMore next={pages.next} loading={pages.loading} onMore={() => void pages.more()} />
        </Card>
      )}
    </ListStates>
  );
}

function AppsTab(props: { accountId: number }): ReactNode {
  const { t } = useI18n();
  const { accountId } = props;
  const apps = usePages<App, string>(async (cursor) => {
    const p = await api<AdminAppPage>('admin', 'GET', paged(`/accounts/${accountId}/apps`, cursor));
    return { items: p.items, next: p.nextCursor };
  });
  useEffect(() => void apps.reload(), [accountId]);
  const [editing, setEditing] = useState<App | 'new' | null>(null);
  const [deleting, setDeleting] = useState<App | null>(null);
  const newButton = (
    <Button variant="primary" onClick={() => setEditing('new')} testId="new-app">
      + {t('apps.new')}
    </Button>
  );
  return (
    <>
      <div className="tab-actions">{newButton}</div>
      <ListStates
        items={apps.items}
        loading={apps.loading}
        error={apps.error}
        onRetry={() => void apps.reload()}
        context="operator"
        empty={<EmptyState icon={Icons.apps} title={t('apps.empty')} hint={t('account.appsEmptyHint')} action={newButton} />}
      >
        {(items) => (
          <Card>
            <div className="table-scroll">
              <table className="table">
                <thead>
                  <tr>
                    <th>{t('common.name')}</th>
                    <th>{t('apps.appId')}</th>
                    <th>{t('common.created')}</th>
                    <th aria-label={t('common.actions')} />
                  </tr>
                </thead>
                <tbody>
                  {items.map((a) => (
                    <tr key={a.appId} data-testid="app-row" data-app-id={a.appId}>
                      <td className="name-cell">{a.name}</td>
                      <td className="with-copy nowrap">
                        <Mono>{a.appId}</Mono> <CopyButton value={a.appId} />
                      </td>
                      <DateCell at={a.createdAt} />
                      <td className="row-actions">
                        <Button size="sm" onClick={() => setEditing(a)} testId="rename-app">
                          {t('common.rename')}
                        </Button>
                        <Button size="sm" variant="danger" onClick={() => setDeleting(a)} testId="delete-app">
                          {t('common.delete')}
                        </Button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <LoadMore next={apps.next} loading={apps.loading} onMore={() => void apps.more()} />
          </Card>
        )}
      </ListStates>
      {editing && (
        <AppDialog
          accountId={accountId}
          app={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void apps.reload();
          }}
        />
      )}
      {deleting && (
        <Confirm
          title={t('account.deleteAppTitle', { name: deleting.name })}
          body={t('account.deleteAppBody', { appId: deleting.appId })}
          confirmLabel={t('common.delete')}
          danger
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await api('admin', 'DELETE', `/apps/${encodeURIComponent(deleting.appId)}`);
            await apps.reload();
          }}
        />
      )}
    </>
  );
}

/** A new app (`app` null) or a new name for one; its appId never changes. */
function AppDialog(props: { accountId: number; app: App | null; onClose: () => void; onSaved: () => void }): ReactNode {
  const { t } = useI18n();
  const [name, setName] = useState(props.app?.name ?? '');
  const save = useAction(async () => {
    if (props.app) await api('admin', 'PATCH', `/apps/${encodeURIComponent(props.app.appId)}`, { name });
    else await api('admin', 'POST', `/accounts/${props.accountId}/apps`, { name });
    props.onSaved();
  });
  return (
    <FormDialog
      title={props.app ? t('account.renameAppTitle', { appId: props.app.appId }) : t('apps.new')}
      testId="app-dialog"
      submitLabel={props.app ? t('common.save') : t('common.create')}
      submitTestId="save-app"
      action={save}
      fields={['name']}
      onSubmit={() => void save.run()}
      onClose={props.onClose}
    >
      <Field label={t('apps.name')} error={fieldError(save.error, 'name', t)}>
        {(id, d) => <input id={id} aria-describedby={d} value={name} maxLength={200} placeholder={t('apps.namePlaceholder')} onChange={(e) => setName(e.target.value)} />}
      </Field>
    </FormDialog>
  );
}
