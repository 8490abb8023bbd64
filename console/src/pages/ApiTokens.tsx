import { useEffect, useState, type ReactNode } from 'react';
import { api, type ApiTokenFormat, type ApiTokenItem, type ApiTokenList, type NewApiToken, type RotatedApiToken } from '../api.ts';
import {
  Button,
  Card,
  Confirm,
  DateCell,
  EmptyState,
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
import { useAction, usePages, type Page } from '../hooks.ts';
import { useI18n, type MessageKey } from '../i18n.ts';

const GRACE_CHOICES = [0, 3600, 86_400, 604_800] as const;

/** A token just made: the value, shown once, and its format. */
export interface FreshApiToken {
  token: string;
  format: ApiTokenFormat;
}

/**
 * What the tokens panel does, through the cabinet API (one's own tokens) or the admin API (an
 * account's tokens): both take the same choices, each in its own wire form.
 */
export interface ApiTokenOps {
  page(cursor: string | null): Promise<Page<ApiTokenItem, string>>;
  create(input: { format: ApiTokenFormat; label: string | null; expiresInDays: number | null }): Promise<FreshApiToken>;
  rotate(id: string, graceSeconds: number): Promise<FreshApiToken>;
  revoke(id: string): Promise<void>;
}

const cabinetOps: ApiTokenOps = {
  page: async () => ({ items: (await api<ApiTokenList>('cabinet', 'GET', '/api-tokens')).items, next: null }),
  async create(input) {
    const created = await api<NewApiToken>('cabinet', 'POST', '/api-tokens', { format: input.format, ...(input.label ? { label: input.label } : {}), expiresInDays: input.expiresInDays });
    return { token: created.token, format: created.apiToken.format };
  },
  async rotate(id, graceSeconds) {
    const rotated = await api<RotatedApiToken>('cabinet', 'POST', `/api-tokens/${id}/rotate`, { graceSeconds });
    return { token: rotated.token, format: rotated.apiToken.format };
  },
  async revoke(id) {
    await api('cabinet', 'POST', `/api-tokens/${id}/revoke`, {});
  },
};

export function ApiTokensPage(): ReactNode {
  const { t } = useI18n();
  const [creating, setCreating] = useState(false);
  const newButton = (
    <Button variant="primary" onClick={() => setCreating(true)} testId="new-api-token">
      + {t('tokens.new')}
    </Button>
  );
  return (
    <>
      <PageHeader title={t('tokens.title')} subtitle={t('tokens.subtitle')} actions={newButton} />
      <ApiTokensPanel ops={cabinetOps} newButton={newButton} creating={creating} onCreating={setCreating} />
    </>
  );
}

/** The tokens of one account: list, create, rotate, revoke; a new token is shown once. */
export function ApiTokensPanel(props: { ops: ApiTokenOps; newButton: ReactNode; creating: boolean; onCreating: (open: boolean) => void }): ReactNode {
  const { t } = useI18n();
  const { ops } = props;
  const tokens = usePages(ops.page);
  useEffect(() => void tokens.reload(), [ops]);
  const [rotating, setRotating] = useState<ApiTokenItem | null>(null);
  const [revoking, setRevoking] = useState<ApiTokenItem | null>(null);
  const [revealed, setRevealed] = useState<{ title: string; created: FreshApiToken } | null>(null);
  const [showInactive, setShowInactive] = useState(false);
  const now = Date.now();

  const visible = (tokens.items ?? []).filter((x) => showInactive || x.status === 'active' || x.status === 'grace');
  const hidden = (tokens.items?.length ?? 0) - visible.length;
  const newButton = props.newButton;

  return (
    <>
      <ListStates
        items={tokens.items}
        loading={tokens.loading}
        error={tokens.error}
        onRetry={() => void tokens.reload()}
        empty={<EmptyState icon={Icons.token} title={t('tokens.empty')} hint={t('tokens.emptyHint')} action={newButton} />}
      >
        {() => (
          <Card
            actions={
              hidden > 0 || showInactive ? (
                <label className="checkbox">
                  <input type="checkbox" checked={showInactive} onChange={(e) => setShowInactive(e.target.checked)} /> {t('tokens.showInactive')}
                  {hidden > 0 ? ` (${hidden})` : ''}
                </label>
              ) : null
            }
          >
            <div className="table-scroll">
              <table className="table">
                <thead>
                  <tr>
                    <th>{t('tokens.label')}</th>
                    <th>{t('tokens.token')}</th>
                    <th>{t('common.status')}</th>
                    <th>{t('common.created')}</th>
                    <th>{t('common.expires')}</th>
                    <th>{t('common.lastUsed')}</th>
                    <th aria-label={t('common.actions')} />
                  </tr>
                </thead>
                <tbody>
                  {visible.map((x) => (
                    <tr key={x.id} data-testid="api-token-row" data-label={x.label ?? ''} data-status={x.status}>
                      <td className="name-cell">{x.label ?? <span className="muted">—</span>}</td>
                      <td className="nowrap">
                        <Mono>{x.hint}</Mono> <span className="tag" title={t('tokens.format')}>{x.format}</span>
                      </td>
                      <td>
                        <StatusBadge status={x.status} />
                      </td>
                      <DateCell at={x.createdAt} />
                      {/* A revoked token has ended: its former expiry would read as if it still worked. */}
                      <RelativeCell at={x.status === 'revoked' ? null : x.expiresAt} now={now} withTitle />
                      <RelativeCell at={x.lastUsedAt} now={now} />
                      <td className="row-actions">
                        {x.status === 'active' && (
                          <Button size="sm" onClick={() => setRotating(x)} testId="rotate-token">
                            {t('common.rotate')}
                          </Button>
                        )}
                        {(x.status === 'active' || x.status === 'grace') && (
                          <Button size="sm" variant="danger" onClick={() => setRevoking(x)} testId="revoke-token">
                            {t('common.revoke')}
                          </Button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <LoadMore next={tokens.next} loading={tokens.loading} onMore={() => void tokens.more()} />
          </Card>
        )}
      </ListStates>
      {props.creating && (
        <CreateDialog
          ops={ops}
          onClose={() => props.onCreating(false)}
          onCreated={(created) => {
            props.onCreating(false);
            setRevealed({ title: t('tokens.created'), created });
            void tokens.reload();
          }}
        />
      )}
      {rotating && (
        <RotateDialog
          ops={ops}
          token={rotating}
          onClose={() => setRotating(null)}
          onRotated={(created) => {
            setRotating(null);
            setRevealed({ title: t('tokens.rotated'), created });
            void tokens.reload();
          }}
        />
      )}
      {revoking && (
        <Confirm
          title={t('tokens.revokeTitle')}
          body={t('tokens.revokeBody', { token: revoking.hint })}
          confirmLabel={t('common.revoke')}
          danger
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await ops.revoke(revoking.id);
            await tokens.reload();
          }}
        />
      )}
      {revealed && (
        <SecretReveal
          title={revealed.title}
          items={[{ label: `${t('tokens.token')} · ${revealed.created.format}`, value: revealed.created.token, secret: true, testId: 'secret-token' }]}
          onDone={() => setRevealed(null)}
        />
      )}
    </>
  );
}

function CreateDialog(props: { ops: ApiTokenOps; onClose: () => void; onCreated: (created: FreshApiToken) => void }): ReactNode {
  const { t } = useI18n();
  const [format, setFormat] = useState<ApiTokenFormat>('v3');
  const [label, setLabel] = useState('');
  const [expiry, setExpiry] = useState<number | null>(null);
  const create = useAction(async () => {
    props.onCreated(await props.ops.create({ format, label: label.trim() || null, expiresInDays: expiry }));
  });
  const formatError = fieldError(create.error, 'format', t);
  return (
    <FormDialog
      title={t('tokens.new')}
      testId="create-token-dialog"
      submitLabel={t('common.create')}
      submitTestId="create-token"
      action={create}
      fields={['label', 'format', 'expiresInDays', 'expiresIn']}
      onSubmit={() => void create.run()}
      onClose={props.onClose}
    >
      <fieldset className="field radio-group">
        <legend>{t('tokens.format')}</legend>
        {(['v3', 'l3', 'native'] as const).map((f) => (
          <label key={f} className="radio">
            <input type="radio" name="format" value={f} checked={format === f} onChange={() => setFormat(f)} data-testid={`format-${f}`} />
            {t(`tokens.format.${f}` as MessageKey)}
          </label>
        ))}
        {formatError && <div className="field-error">{formatError}</div>}
      </fieldset>
      <Field label={t('tokens.label')} optional error={fieldError(create.error, 'label', t)}>
        {(id, d) => <input id={id} aria-describedby={d} name="label" value={label} maxLength={200} placeholder={t('tokens.labelPlaceholder')} onChange={(e) => setLabel(e.target.value)} />}
      </Field>
      <Field label={t('tokens.expiry')} error={fieldError(create.error, 'expiresInDays', t) ?? fieldError(create.error, 'expiresIn', t)}>
        {(id) => <ExpirySelect id={id} value={expiry} onChange={setExpiry} />}
      </Field>
    </FormDialog>
  );
}

function RotateDialog(props: { ops: ApiTokenOps; token: ApiTokenItem; onClose: () => void; onRotated: (created: FreshApiToken) => void }): ReactNode {
  const { t } = useI18n();
  const [grace, setGrace] = useState<number>(86_400);
  const rotate = useAction(async () => {
    props.onRotated(await props.ops.rotate(props.token.id, grace));
  });
  return (
    <FormDialog
      title={t('tokens.rotateTitle')}
      testId="rotate-dialog"
      submitLabel={t('common.rotate')}
      submitTestId="rotate-confirm"
      action={rotate}
      fields={['graceSeconds', 'grace']}
      onSubmit={() => void rotate.run()}
      onClose={props.onClose}
    >
      <p>{t('tokens.rotateBody', { token: props.token.hint })}</p>
      <Field label={t('tokens.grace')} error={fieldError(rotate.error, 'graceSeconds', t) ?? fieldError(rotate.error, 'grace', t)}>
        {(id) => (
          <select id={id} value={grace} onChange={(e) => setGrace(Number(e.target.value))} data-testid="grace-select">
            {GRACE_CHOICES.map((g) => (
              <option key={g} value={g}>
                {t(`tokens.grace.${g}` as MessageKey)}
              </option>
            ))}
          </select>
        )}
      </Field>
    </FormDialog>
  );
}
