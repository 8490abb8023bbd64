import { useState, type FormEvent, type ReactNode } from 'react';
import { api, type ApiTokenFormat, type ApiTokenItem } from '../api.ts';
import {
  Button,
  Card,
  Confirm,
  EmptyState,
  ErrorNotice,
  errorText,
  Field,
  fieldError,
  Icons,
  Loading,
  Modal,
  Mono,
  PageHeader,
  SecretReveal,
  StatusBadge,
} from '../components/ui.tsx';
import { formatDate, formatDateTime, formatRelative } from '../format.ts';
import { useResource } from '../hooks.ts';
import { useI18n, type MessageKey } from '../i18n.ts';

const GRACE_CHOICES = [0, 3600, 86_400, 604_800] as const;
const EXPIRY_CHOICES = [null, 30, 90, 365] as const;

interface Created {
  token: string;
  apiToken: ApiTokenItem;
}

export function ApiTokensPage(): ReactNode {
  const { t, lang } = useI18n();
  const tokens = useResource(async () => (await api<{ items: ApiTokenItem[] }>('cabinet', 'GET', '/api-tokens')).items, []);
  const [creating, setCreating] = useState(false);
  const [rotating, setRotating] = useState<ApiTokenItem | null>(null);
  const [revoking, setRevoking] = useState<ApiTokenItem | null>(null);
  const [revealed, setRevealed] = useState<{ title: string; created: Created } | null>(null);
  const [showInactive, setShowInactive] = useState(false);
  const now = Date.now();

  const visible = (tokens.data ?? []).filter((x) => showInactive || x.status === 'active' || x.status === 'grace');
  const hidden = (tokens.data?.length ?? 0) - visible.length;
  const newButton = (
    <Button variant="primary" onClick={() => setCreating(true)} testId="new-api-token">
      + {t('tokens.new')}
    </Button>
  );

  return (
    <>
      <PageHeader title={t('tokens.title')} subtitle={t('tokens.subtitle')} actions={newButton} />
      {tokens.error ? <ErrorNotice error={tokens.error} onRetry={() => void tokens.reload()} /> : null}
      {tokens.loading && !tokens.data ? <Loading /> : null}
      {tokens.data && tokens.data.length === 0 && (
        <Card>
          <EmptyState icon={Icons.token} title={t('tokens.empty')} hint={t('tokens.emptyHint')} action={newButton} />
        </Card>
      )}
      {tokens.data && tokens.data.length > 0 && (
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
                  <td className="nowrap" title={formatDateTime(x.createdAt, lang)}>
                    {formatDate(x.createdAt, lang)}
                  </td>
                  <td className="nowrap" title={x.expiresAt ? formatDateTime(x.expiresAt, lang) : undefined}>
                    {x.expiresAt ? formatRelative(x.expiresAt, now, lang) : <span className="muted">{t('common.never')}</span>}
                  </td>
                  <td className="nowrap">{x.lastUsedAt ? formatRelative(x.lastUsedAt, now, lang) : <span className="muted">{t('common.never')}</span>}</td>
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
        </Card>
      )}
      {creating && (
        <CreateDialog
          onClose={() => setCreating(false)}
          onCreated={(created) => {
            setCreating(false);
            setRevealed({ title: t('tokens.created'), created });
            void tokens.reload();
          }}
        />
      )}
      {rotating && (
        <RotateDialog
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
            await api('cabinet', 'POST', `/api-tokens/${revoking.id}/revoke`, {});
            await tokens.reload();
          }}
        />
      )}
      {revealed && (
        <SecretReveal
          title={revealed.title}
          items={[{ label: `${t('tokens.token')} · ${revealed.created.apiToken.format}`, value: revealed.created.token, secret: true, testId: 'secret-token' }]}
          onDone={() => setRevealed(null)}
        />
      )}
    </>
  );
}

function CreateDialog(props: { onClose: () => void; onCreated: (created: Created) => void }): ReactNode {
  const { t, lang } = useI18n();
  const [format, setFormat] = useState<ApiTokenFormat>('v3');
  const [label, setLabel] = useState('');
  const [expiry, setExpiry] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(e?: FormEvent): Promise<void> {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await api<Created>('cabinet', 'POST', '/api-tokens', {
        format,
        ...(label.trim() ? { label: label.trim() } : {}),
        expiresInDays: expiry,
      });
      props.onCreated(created);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const labelError = fieldError(error, 'label', t);
  const formatError = fieldError(error, 'format', t);
  return (
    <Modal
      title={t('tokens.new')}
      onClose={props.onClose}
      testId="create-token-dialog"
      footer={
        <>
          <Button variant="ghost" onClick={props.onClose}>
            {t('common.cancel')}
          </Button>
          <Button variant="primary" busy={busy} onClick={() => void submit()} testId="create-token">
            {t('common.create')}
          </Button>
        </>
      }
    >
      <form onSubmit={(e) => void submit(e)} noValidate>
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
        <Field label={t('tokens.label')} optional error={labelError}>
          {(id, d) => <input id={id} aria-describedby={d} name="label" value={label} maxLength={200} placeholder={t('tokens.labelPlaceholder')} onChange={(e) => setLabel(e.target.value)} />}
        </Field>
        <Field label={t('tokens.expiry')}>
          {(id) => (
            <select id={id} value={expiry ?? ''} onChange={(e) => setExpiry(e.target.value ? Number(e.target.value) : null)}>
              {EXPIRY_CHOICES.map((d) => (
                <option key={d ?? 'never'} value={d ?? ''}>
                  {d === null ? t('common.noExpiry') : t('common.days', { n: d })}
                </option>
              ))}
            </select>
          )}
        </Field>
        {error && !labelError && !formatError ? (
          <div className="notice notice-error" role="alert">
            {errorText(error, t, lang)}
          </div>
        ) : null}
      </form>
    </Modal>
  );
}

function RotateDialog(props: { token: ApiTokenItem; onClose: () => void; onRotated: (created: Created) => void }): ReactNode {
  const { t, lang } = useI18n();
  const [grace, setGrace] = useState<number>(86_400);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function rotate(): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      const created = await api<Created>('cabinet', 'POST', `/api-tokens/${props.token.id}/rotate`, { graceSeconds: grace });
      props.onRotated(created);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      title={t('tokens.rotateTitle')}
      onClose={props.onClose}
      testId="rotate-dialog"
      footer={
        <>
          <Button variant="ghost" onClick={props.onClose}>
            {t('common.cancel')}
          </Button>
          <Button variant="primary" busy={busy} onClick={() => void rotate()} testId="rotate-confirm">
            {t('common.rotate')}
          </Button>
        </>
      }
    >
      <p>{t('tokens.rotateBody', { token: props.token.hint })}</p>
      <Field label={t('tokens.grace')} error={fieldError(error, 'graceSeconds', t)}>
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
      {error && !fieldError(error, 'graceSeconds', t) ? (
        <div className="notice notice-error" role="alert">
          {errorText(error, t, lang)}
        </div>
      ) : null}
    </Modal>
  );
}
