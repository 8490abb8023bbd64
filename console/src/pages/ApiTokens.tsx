import { useState, type ReactNode } from 'react';
import { api, type ApiTokenFormat, type ApiTokenItem, type ApiTokenList, type NewApiToken, type RotatedApiToken, type TokenUsage } from '../api.ts';
import { DayBars } from '../components/charts.tsx';
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
  Loading,
  ErrorNotice,
  Modal,
  Mono,
  PageHeader,
  RelativeCell,
  SecretReveal,
  StatusBadge,
} from '../components/ui.tsx';
import { useAction, useResource } from '../hooks.ts';
import { useI18n, type MessageKey } from '../i18n.ts';

const GRACE_CHOICES = [0, 3600, 86_400, 604_800] as const;

export function ApiTokensPage(): ReactNode {
  const { t } = useI18n();
  const tokens = useResource(async () => (await api<ApiTokenList>('cabinet', 'GET', '/api-tokens')).items, []);
  const [creating, setCreating] = useState(false);
  const [rotating, setRotating] = useState<ApiTokenItem | null>(null);
  const [charting, setCharting] = useState<ApiTokenItem | null>(null);
  const [revoking, setRevoking] = useState<ApiTokenItem | null>(null);
  const [revealed, setRevealed] = useState<{ title: string; created: NewApiToken } | null>(null);
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
      <ListStates
        items={tokens.data}
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
                      <Button size="sm" onClick={() => setCharting(x)} testId="token-usage">
                        {t('tokens.usage')}
                      </Button>
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
      </ListStates>
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
      {charting && <UsageDialog token={charting} onClose={() => setCharting(null)} />}
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

const USAGE_DAYS = 14;

/** A token's checks per day, stacked by outcome, and its credits left. */
function UsageDialog(props: { token: ApiTokenItem; onClose: () => void }): ReactNode {
  const { t, lang } = useI18n();
  const usage = useResource(() => api<TokenUsage>('cabinet', 'GET', `/api-tokens/${props.token.id}/usage?days=${USAGE_DAYS}`), [props.token.id]);
  const u = usage.data;
  const days = (u?.days ?? []).map((d) => ({
    day: d.day,
    values: [
      d.ok,
      d.refused.rate_limited + d.refused.credits_exhausted,
      d.refused.ip_denied + d.refused.scope_missing,
      d.refused.revoked + d.refused.expired + d.refused.account_disabled,
    ],
  }));
  const ok = days.reduce((s, d) => s + d.values[0]!, 0);
  const refused = days.reduce((s, d) => s + d.values[1]! + d.values[2]! + d.values[3]!, 0);
  return (
    <Modal title={t('tokens.usageTitle', { token: props.token.hint })} onClose={props.onClose} testId="token-usage-dialog">
      {usage.error ? <ErrorNotice error={usage.error} onRetry={() => void usage.reload()} /> : null}
      {usage.loading && !u ? <Loading /> : null}
      {u && (
        <>
          <p className="muted" data-testid="token-usage-summary">
            {t('tokens.usageTotal', { ok: ok.toLocaleString(lang), refused: refused.toLocaleString(lang) })} ·{' '}
            <span data-testid="token-credits">{u.creditsLeft === null ? t('tokens.usageNoCredits') : t('tokens.usageCredits', { n: u.creditsLeft.toLocaleString(lang) })}</span>
          </p>
          <DayBars
            days={days}
            lang={lang}
            label={t('tokens.usageChart', { days: USAGE_DAYS })}
            testId="token-usage-chart"
            series={[
              { label: t('tokens.outcome.ok'), className: 'chart-bar' },
              { label: t('tokens.outcome.limits'), className: 'chart-bar chart-bar-warn' },
              { label: t('tokens.outcome.place'), className: 'chart-bar chart-bar-bad' },
              { label: t('tokens.outcome.dead'), className: 'chart-bar chart-bar-dead' },
            ]}
          />
        </>
      )}
    </Modal>
  );
}

function CreateDialog(props: { onClose: () => void; onCreated: (created: NewApiToken) => void }): ReactNode {
  const { t } = useI18n();
  const [format, setFormat] = useState<ApiTokenFormat>('v3');
  const [label, setLabel] = useState('');
  const [expiry, setExpiry] = useState<number | null>(null);
  const create = useAction(async () => {
    props.onCreated(
      await api<NewApiToken>('cabinet', 'POST', '/api-tokens', { format, ...(label.trim() ? { label: label.trim() } : {}), expiresInDays: expiry }),
    );
  });
  const formatError = fieldError(create.error, 'format', t);
  return (
    <FormDialog
      title={t('tokens.new')}
      testId="create-token-dialog"
      submitLabel={t('common.create')}
      submitTestId="create-token"
      action={create}
      fields={['label', 'format']}
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
      <Field label={t('tokens.expiry')}>{(id) => <ExpirySelect id={id} value={expiry} onChange={setExpiry} />}</Field>
    </FormDialog>
  );
}

function RotateDialog(props: { token: ApiTokenItem; onClose: () => void; onRotated: (created: NewApiToken) => void }): ReactNode {
  const { t } = useI18n();
  const [grace, setGrace] = useState<number>(86_400);
  const rotate = useAction(async () => {
    props.onRotated(await api<RotatedApiToken>('cabinet', 'POST', `/api-tokens/${props.token.id}/rotate`, { graceSeconds: grace }));
  });
  return (
    <FormDialog
      title={t('tokens.rotateTitle')}
      testId="rotate-dialog"
      submitLabel={t('common.rotate')}
      submitTestId="rotate-confirm"
      action={rotate}
      fields={['graceSeconds']}
      onSubmit={() => void rotate.run()}
      onClose={props.onClose}
    >
      <p>{t('tokens.rotateBody', { token: props.token.hint })}</p>
      <Field label={t('tokens.grace')} error={fieldError(rotate.error, 'graceSeconds', t)}>
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
