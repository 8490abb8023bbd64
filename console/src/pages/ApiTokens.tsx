import { useEffect, useState, type ReactNode } from 'react';
import { api, type ApiTokenFormat, type ApiTokenItem, type ApiTokenList, type NewApiToken, type Policy, type RotatedApiToken, type TokenUsage } from '../api.ts';
import { DayBars } from '../components/charts.tsx';
import {
  Button,
  Card,
  Confirm,
  DateCell,
  EmptyState,
  ErrorNotice,
  ExpirySelect,
  Field,
  FormDialog,
  Icons,
  ListStates,
  LoadMore,
  Loading,
  Modal,
  Mono,
  PageHeader,
  RelativeCell,
  SecretReveal,
  ShowInactive,
  StatusBadge,
  fieldError,
} from '../components/ui.tsx';
import { useAction, usePages, useResource, type Page } from '../hooks.ts';
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
  /** A token's checks per day by outcome, and its credits left. */
  usage(id: string, days: number): Promise<TokenUsage>;
  /** The rules an account sets on its own tokens; the operator's view has none (the policy API sets them). */
  rules?: TokenRulesOps;
}

/** Read and replace the rules a customer may set on its own token (docs/policies.md). */
export interface TokenRulesOps {
  get(id: string): Promise<Policy>;
  put(id: string, rules: { rateLimits: { limit: number; windowSeconds: number; exact?: boolean }[]; ipAllowList: string[] | null; scopes: string[] | null }): Promise<Policy>;
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
  usage: (id, days) => api<TokenUsage>('cabinet', 'GET', `/api-tokens/${id}/usage?days=${days}`),
  rules: {
    get: (id) => api<Policy>('cabinet', 'GET', `/api-tokens/${id}/policy`),
    put: (id, rules) => api<Policy>('cabinet', 'PUT', `/api-tokens/${id}/policy`, rules),
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
  const [charting, setCharting] = useState<ApiTokenItem | null>(null);
  const [ruling, setRuling] = useState<ApiTokenItem | null>(null);
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
            actions={<ShowInactive hidden={hidden} checked={showInactive} onChange={setShowInactive} label={t('tokens.showInactive')} />}
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
                        <Button size="sm" onClick={() => setCharting(x)} testId="token-usage">
                          {t('tokens.usage')}
                        </Button>
                        {ops.rules && (x.status === 'active' || x.status === 'grace') && (
                          <Button size="sm" onClick={() => setRuling(x)} testId="token-rules">
                            {t('tokens.rules')}
                          </Button>
                        )}
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
      {charting && <UsageDialog ops={ops} token={charting} onClose={() => setCharting(null)} />}
      {ruling && ops.rules && <RulesDialog rules={ops.rules} token={ruling} onClose={() => setRuling(null)} />}
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

const USAGE_DAYS = 14;

/** A token's checks per day, stacked by outcome, and its credits left. */
function UsageDialog(props: { ops: ApiTokenOps; token: ApiTokenItem; onClose: () => void }): ReactNode {
  const { t, lang } = useI18n();
  const usage = useResource(() => props.ops.usage(props.token.id, USAGE_DAYS), [props.ops, props.token.id]);
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

const UNITS = [
  { seconds: 1, key: 'tokens.unit.second' },
  { seconds: 60, key: 'tokens.unit.minute' },
  { seconds: 3600, key: 'tokens.unit.hour' },
  { seconds: 86_400, key: 'tokens.unit.day' },
] as const satisfies readonly { seconds: number; key: MessageKey }[];
const MAX_WINDOWS = 5;

/** The rules a customer sets on its own token: rate windows, allowed addresses, scopes (credits are the operator's). */
function RulesDialog(props: { rules: TokenRulesOps; token: ApiTokenItem; onClose: () => void }): ReactNode {
  const { t } = useI18n();
  const policy = useResource(() => props.rules.get(props.token.id), [props.rules, props.token.id]);
  if (!policy.data) {
    return (
      <Modal title={t('tokens.rulesTitle', { token: props.token.hint })} onClose={props.onClose} testId="token-rules-dialog">
        {policy.error ? <ErrorNotice error={policy.error} onRetry={() => void policy.reload()} /> : <Loading />}
      </Modal>
    );
  }
  return <RulesForm rules={props.rules} token={props.token} policy={policy.data} onClose={props.onClose} />;
}

interface WindowDraft {
  limit: string;
  seconds: number;
  exact: boolean;
}

function RulesForm(props: { rules: TokenRulesOps; token: ApiTokenItem; policy: Policy; onClose: () => void }): ReactNode {
  const { t, lang } = useI18n();
  const { rules } = props.policy;
  const [windows, setWindows] = useState<WindowDraft[]>(rules.rateLimits.map((w) => ({ limit: String(w.limit), seconds: w.windowSeconds, exact: w.exact === true })));
  const [allow, setAllow] = useState((rules.ipAllowList ?? []).join('\n'));
  const [scopes, setScopes] = useState((rules.scopes ?? []).join(', '));
  const save = useAction(async () => {
    const lines = allow.split(/\s*\n\s*/).map((l) => l.trim()).filter(Boolean);
    const names = scopes.split(',').map((s) => s.trim()).filter(Boolean);
    await props.rules.put(props.token.id, {
      rateLimits: windows.map((w) => ({ limit: Number(w.limit), windowSeconds: w.seconds, ...(w.exact ? { exact: true } : {}) })),
      ipAllowList: lines.length > 0 ? lines : null,
      scopes: names.length > 0 ? names : null,
    });
    props.onClose();
  });
  const update = (i: number, change: Partial<WindowDraft>): void => setWindows(windows.map((w, k) => (k === i ? { ...w, ...change } : w)));
  return (
    <FormDialog
      title={t('tokens.rulesTitle', { token: props.token.hint })}
      testId="token-rules-dialog"
      submitLabel={t('common.save')}
      submitTestId="token-rules-save"
      action={save}
      fields={['ipAllowList', 'scopes']}
      onSubmit={() => void save.run()}
      onClose={props.onClose}
    >
      <p className="muted">{t('tokens.rulesIntro')}</p>
      <fieldset className="rule-windows">
        <legend>{t('tokens.rulesRate')}</legend>
        <p className="field-hint">{t('tokens.rulesRateHint')}</p>
        {windows.map((w, i) => (
          <div className="rule-window" key={i} data-testid="rule-window">
            <input
              type="number"
              min={1}
              inputMode="numeric"
              aria-label={t('tokens.rulesLimit')}
              value={w.limit}
              onChange={(e) => update(i, { limit: e.target.value })}
              data-testid="rule-limit"
            />
            <span>{t('tokens.rulesPer')}</span>
            <select aria-label={t('tokens.rulesPer')} value={w.seconds} onChange={(e) => update(i, { seconds: Number(e.target.value) })} data-testid="rule-unit">
              {(UNITS.some((u) => u.seconds === w.seconds) ? UNITS : [...UNITS, { seconds: w.seconds, key: null }]).map((u) => (
                <option key={u.seconds} value={u.seconds}>
                  {u.key ? t(u.key) : `${w.seconds.toLocaleString(lang)} s`}
                </option>
              ))}
            </select>
            {w.exact && <span className="muted">{t('tokens.rulesExact')}</span>}
            <Button size="sm" variant="ghost" onClick={() => setWindows(windows.filter((_, k) => k !== i))} testId="rule-remove">
              {t('tokens.rulesRemoveWindow')}
            </Button>
          </div>
        ))}
        {windows.length < MAX_WINDOWS && (
          <Button size="sm" onClick={() => setWindows([...windows, { limit: '100', seconds: UNITS.find((u) => !windows.some((w) => w.seconds === u.seconds))?.seconds ?? 60, exact: false }])} testId="rule-add">
            {t('tokens.rulesAddWindow')}
          </Button>
        )}
      </fieldset>
      <Field label={t('tokens.rulesAllow')} hint={t('tokens.rulesAllowHint')} error={fieldError(save.error, 'ipAllowList', t)} optional>
        {(id, d) => <textarea id={id} aria-describedby={d} rows={3} value={allow} onChange={(e) => setAllow(e.target.value)} data-testid="rule-allow" />}
      </Field>
      <Field label={t('tokens.rulesScopes')} hint={t('tokens.rulesScopesHint')} error={fieldError(save.error, 'scopes', t)} optional>
        {(id, d) => <input id={id} aria-describedby={d} value={scopes} onChange={(e) => setScopes(e.target.value)} data-testid="rule-scopes" />}
      </Field>
      <p className="muted" data-testid="rule-credits">
        {rules.credits ? t('tokens.rulesCredits', { n: (props.policy.creditsLeft ?? rules.credits.remaining).toLocaleString(lang) }) : t('tokens.rulesNoCredits')}
      </p>
    </FormDialog>
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
