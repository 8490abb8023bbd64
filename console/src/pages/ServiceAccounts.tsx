import { useEffect, useState, type ReactNode } from 'react';
import { api, type NewServiceKey, type ServiceAccountItem, type ServiceAccountList, type ServiceKeyItem } from '../api.ts';
import {
  Button,
  Card,
  Confirm,
  CopyButton,
  DateCell,
  EmptyState,
  ErrorNotice,
  ExpirySelect,
  Field,
  fieldError,
  FormDialog,
  Icons,
  ListStates,
  LoadMore,
  Mono,
  PageHeader,
  RelativeCell,
  SecretReveal,
  StatusBadge,
} from '../components/ui.tsx';
import { formatDateTime, formatRelative } from '../format.ts';
import { useAction, usePages, type Page } from '../hooks.ts';
import { useI18n } from '../i18n.ts';

/** A key pair just made: the Secret Key is shown once. */
export interface FreshServiceKey {
  accessKey: string;
  secretKey: string;
}

/** What the service-accounts panel does, through the cabinet API or the admin API (for one account). */
export interface ServiceAccountOps {
  page(cursor: string | null): Promise<Page<ServiceAccountItem, string>>;
  create(input: { name: string; actions: string[] }): Promise<void>;
  setStatus(id: number, action: 'disable' | 'enable'): Promise<void>;
  newKey(id: number, expiresInDays: number | null): Promise<FreshServiceKey>;
  revokeKey(id: number, keyId: number): Promise<void>;
}

const cabinetOps: ServiceAccountOps = {
  page: async () => ({ items: (await api<ServiceAccountList>('cabinet', 'GET', '/service-accounts')).items, next: null }),
  async create(input) {
    await api('cabinet', 'POST', '/service-accounts', input);
  },
  async setStatus(id, action) {
    await api('cabinet', 'POST', `/service-accounts/${id}/${action}`, {});
  },
  async newKey(id, expiresInDays) {
    const created = await api<NewServiceKey>('cabinet', 'POST', `/service-accounts/${id}/keys`, { expiresInDays });
    return { accessKey: created.accessKey, secretKey: created.secretKey };
  },
  async revokeKey(id, keyId) {
    await api('cabinet', 'POST', `/service-accounts/${id}/keys/${keyId}/revoke`, {});
  },
};

export function ServiceAccountsPage(): ReactNode {
  const { t } = useI18n();
  const [creating, setCreating] = useState(false);
  const newButton = (
    <Button variant="primary" onClick={() => setCreating(true)} testId="new-service-account">
      + {t('sa.new')}
    </Button>
  );
  return (
    <>
      <PageHeader title={t('sa.title')} subtitle={t('sa.subtitle')} actions={newButton} />
      <ServiceAccountsPanel ops={cabinetOps} newButton={newButton} creating={creating} onCreating={setCreating} />
    </>
  );
}

/** Service accounts with their keys: create, disable or enable, new key (shown once), revoke a key. */
export function ServiceAccountsPanel(props: { ops: ServiceAccountOps; newButton: ReactNode; creating: boolean; onCreating: (open: boolean) => void }): ReactNode {
  const { t } = useI18n();
  const { ops, newButton } = props;
  const list = usePages(ops.page);
  useEffect(() => void list.reload(), [ops]);
  const [keyFor, setKeyFor] = useState<ServiceAccountItem | null>(null);
  const [revealed, setRevealed] = useState<FreshServiceKey | null>(null);
  const [revoking, setRevoking] = useState<{ sa: ServiceAccountItem; key: ServiceKeyItem } | null>(null);
  const [disabling, setDisabling] = useState<ServiceAccountItem | null>(null);

  const enable = useAction(async (sa: ServiceAccountItem) => {
    await ops.setStatus(sa.id, 'enable');
    await list.reload();
  });

  return (
    <>
      {enable.error ? <ErrorNotice error={enable.error} /> : null}
      <ListStates
        items={list.items}
        loading={list.loading}
        error={list.error}
        onRetry={() => void list.reload()}
        empty={<EmptyState icon={Icons.key} title={t('sa.empty')} hint={t('sa.emptyHint')} action={newButton} />}
      >
        {(items) => (
          <>
            {items.map((sa) => (
              <ServiceAccountCard
                key={sa.id}
                sa={sa}
                onNewKey={() => setKeyFor(sa)}
                onRevokeKey={(key) => setRevoking({ sa, key })}
                onDisable={() => setDisabling(sa)}
                onEnable={() => void enable.run(sa)}
              />
            ))}
            <LoadMore next={list.next} loading={list.loading} onMore={() => void list.more()} />
          </>
        )}
      </ListStates>
      {props.creating && (
        <CreateDialog
          ops={ops}
          onClose={() => props.onCreating(false)}
          onCreated={() => {
            props.onCreating(false);
            void list.reload();
          }}
        />
      )}
      {keyFor && (
        <NewKeyDialog
          ops={ops}
          sa={keyFor}
          onClose={() => setKeyFor(null)}
          onCreated={(created) => {
            setKeyFor(null);
            setRevealed(created);
            void list.reload();
          }}
        />
      )}
      {revealed && (
        <SecretReveal
          title={t('sa.keyCreated')}
          items={[
            { label: t('sa.accessKey'), value: revealed.accessKey, testId: 'secret-access-key' },
            { label: t('sa.secretKey'), value: revealed.secretKey, secret: true, testId: 'secret-secret-key' },
          ]}
          onDone={() => setRevealed(null)}
        />
      )}
      {revoking && (
        <Confirm
          title={t('sa.revokeKeyTitle')}
          body={t('sa.revokeKeyBody', { key: revoking.key.accessKey })}
          confirmLabel={t('common.revoke')}
          danger
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await ops.revokeKey(revoking.sa.id, revoking.key.id);
            await list.reload();
          }}
        />
      )}
      {disabling && (
        <Confirm
          title={t('sa.disableTitle')}
          body={t('sa.disableBody')}
          confirmLabel={t('common.disable')}
          danger
          onClose={() => setDisabling(null)}
          onConfirm={async () => {
            await ops.setStatus(disabling.id, 'disable');
            await list.reload();
          }}
        />
      )}
    </>
  );
}

function ServiceAccountCard(props: {
  sa: ServiceAccountItem;
  onNewKey: () => void;
  onRevokeKey: (key: ServiceKeyItem) => void;
  onDisable: () => void;
  onEnable: () => void;
}): ReactNode {
  const { t, lang } = useI18n();
  const { sa } = props;
  const now = Date.now();
  return (
    <Card
      testId="service-account"
      title={
        <span className="title-with-badge">
          {sa.name} <StatusBadge status={sa.status} />
        </span>
      }
      actions={
        <>
          {sa.status === 'active' ? (
            <>
              <Button size="sm" variant="primary" onClick={props.onNewKey} testId="new-key">
                + {t('sa.newKey')}
              </Button>
              <Button size="sm" variant="ghost" onClick={props.onDisable}>
                {t('common.disable')}
              </Button>
            </>
          ) : (
            <Button size="sm" onClick={props.onEnable}>
              {t('common.enable')}
            </Button>
          )}
        </>
      }
    >
      <div className="chips" aria-label={t('sa.actions')}>
        {sa.actions.map((a) => (
          <span className="chip" key={a}>
            {a}
          </span>
        ))}
      </div>
      <div className="meta">
        {t('common.created')}: {formatDateTime(sa.createdAt, lang)} · {t('common.lastUsed')}:{' '}
        {sa.lastUsedAt ? formatRelative(sa.lastUsedAt, now, lang) : t('common.never')}
      </div>
      <h3 className="subheading">{t('sa.keys')}</h3>
      {sa.keys.length === 0 ? (
        <p className="muted">{t('sa.noKeys')}</p>
      ) : (
        <table className="table compact">
          <thead>
            <tr>
              <th>{t('sa.accessKey')}</th>
              <th>{t('sa.secretHint')}</th>
              <th>{t('common.status')}</th>
              <th>{t('common.created')}</th>
              <th>{t('common.expires')}</th>
              <th>{t('common.lastUsed')}</th>
              <th aria-label={t('common.actions')} />
            </tr>
          </thead>
          <tbody>
            {sa.keys.map((k) => (
              <tr key={k.id} data-testid="service-key-row" data-access-key={k.accessKey}>
                <td className="with-copy">
                  <Mono>{k.accessKey}</Mono> <CopyButton value={k.accessKey} />
                </td>
                <td>
                  <Mono>{k.secretHint}</Mono>
                </td>
                <td>
                  <StatusBadge status={k.status} />
                </td>
                <DateCell at={k.createdAt} />
                <RelativeCell at={k.expiresAt} now={now} withTitle />
                <RelativeCell at={k.lastUsedAt} now={now} />
                <td className="row-actions">
                  {k.status === 'active' && (
                    <Button size="sm" variant="danger" onClick={() => props.onRevokeKey(k)} testId="revoke-key">
                      {t('common.revoke')}
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function CreateDialog(props: { ops: ServiceAccountOps; onClose: () => void; onCreated: () => void }): ReactNode {
  const { t } = useI18n();
  const [name, setName] = useState('');
  const [actions, setActions] = useState('');
  const create = useAction(async () => {
    await props.ops.create({ name, actions: actions.split(/[\s,]+/).filter(Boolean) });
    props.onCreated();
  });
  return (
    <FormDialog
      title={t('sa.new')}
      submitLabel={t('common.create')}
      submitTestId="create-service-account"
      action={create}
      fields={['name', 'actions']}
      onSubmit={() => void create.run()}
      onClose={props.onClose}
    >
      <Field label={t('sa.name')} error={fieldError(create.error, 'name', t)}>
        {(id, d) => <input id={id} aria-describedby={d} name="name" value={name} maxLength={200} placeholder={t('sa.namePlaceholder')} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field label={t('sa.actions')} hint={t('sa.actionsHint')} error={fieldError(create.error, 'actions', t)}>
        {(id, d) => <textarea id={id} aria-describedby={d} name="actions" rows={3} value={actions} onChange={(e) => setActions(e.target.value)} spellCheck={false} />}
      </Field>
    </FormDialog>
  );
}

function NewKeyDialog(props: { ops: ServiceAccountOps; sa: ServiceAccountItem; onClose: () => void; onCreated: (created: FreshServiceKey) => void }): ReactNode {
  const { t } = useI18n();
  const [expiry, setExpiry] = useState<number | null>(90);
  const create = useAction(async () => {
    props.onCreated(await props.ops.newKey(props.sa.id, expiry));
  });
  return (
    <FormDialog
      title={`${t('sa.newKey')} · ${props.sa.name}`}
      submitLabel={t('common.create')}
      submitTestId="create-key"
      action={create}
      fields={['expiresInDays', 'expiresIn']}
      onSubmit={() => void create.run()}
      onClose={props.onClose}
    >
      <Field label={t('sa.keyExpiry')} error={fieldError(create.error, 'expiresInDays', t) ?? fieldError(create.error, 'expiresIn', t)}>
        {(id) => <ExpirySelect id={id} value={expiry} onChange={setExpiry} />}
      </Field>
    </FormDialog>
  );
}
