/**
 * Operator keys: named credentials with a permission set, for the API owner's own systems (a
 * sign-up flow, billing, support tools). Only the operator console and the admin token manage them;
 * a new key is shown once.
 */
import { useState, type ReactNode } from 'react';
import { api, type NewOperatorKey, type OperatorKeyItem, type OperatorKeyList } from '../../api.ts';
import {
  Button,
  Card,
  Confirm,
  DateCell,
  EmptyState,
  ExpirySelect,
  Field,
  FormDialog,
  Icons,
  ListStates,
  Mono,
  PageHeader,
  RelativeCell,
  SecretReveal,
  ShowInactive,
  StatusBadge,
  fieldError,
} from '../../components/ui.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { useI18n, type MessageKey } from '../../i18n.ts';
import { PERMISSION_AREAS, type PermissionArea as Area } from '../../permissions.ts';

type Level = 'none' | 'read' | 'write';
/** Areas that have nothing to write: audit entries, usage figures and settings are read only. */
const READ_ONLY: ReadonlySet<Area> = new Set(['audit', 'usage', 'settings']);

export function OperatorKeysPage(): ReactNode {
  const { t } = useI18n();
  const keys = useResource(async () => (await api<OperatorKeyList>('admin', 'GET', '/operator-keys')).items, []);
  const [creating, setCreating] = useState(false);
  const [revealed, setRevealed] = useState<NewOperatorKey | null>(null);
  const [revoking, setRevoking] = useState<OperatorKeyItem | null>(null);
  const [showInactive, setShowInactive] = useState(false);
  const now = Date.now();
  const visible = (keys.data ?? []).filter((k) => showInactive || k.status === 'active');
  const hidden = (keys.data?.length ?? 0) - visible.length;
  const newButton = (
    <Button variant="primary" onClick={() => setCreating(true)} testId="new-operator-key">
      + {t('opkeys.new')}
    </Button>
  );
  return (
    <>
      <PageHeader title={t('opkeys.title')} subtitle={t('opkeys.subtitle')} actions={newButton} />
      <ListStates
        items={keys.data}
        loading={keys.loading}
        error={keys.error}
        onRetry={() => void keys.reload()}
        context="operator"
        empty={<EmptyState icon={Icons.key} title={t('opkeys.empty')} hint={t('opkeys.emptyHint')} action={newButton} />}
      >
        {() => (
          <Card
            actions={<ShowInactive hidden={hidden} checked={showInactive} onChange={setShowInactive} label={t('opkeys.showInactive')} />}
          >
            <div className="table-scroll">
              <table className="table">
                <thead>
                  <tr>
                    <th>{t('common.name')}</th>
                    <th>{t('opkeys.permissions')}</th>
                    <th>{t('common.status')}</th>
                    <th>{t('common.created')}</th>
                    <th>{t('common.expires')}</th>
                    <th>{t('common.lastUsed')}</th>
                    <th aria-label={t('common.actions')} />
                  </tr>
                </thead>
                <tbody>
                  {visible.map((k) => (
                    <tr key={k.id} data-testid="operator-key-row" data-name={k.name} data-status={k.status}>
                      <td className="name-cell">
                        {k.name}
                        <div>
                          <Mono>{k.hint}</Mono>
                        </div>
                      </td>
                      <td>
                        <span className="chips inline">
                          {k.permissions.map((p) => (
                            <span className="chip" key={p}>
                              {p}
                            </span>
                          ))}
                        </span>
                      </td>
                      <td>
                        <StatusBadge status={k.status} />
                      </td>
                      <DateCell at={k.createdAt} />
                      <RelativeCell at={k.status === 'revoked' ? null : k.expiresAt} now={now} withTitle />
                      <RelativeCell at={k.lastUsedAt} now={now} withTitle />
                      <td className="row-actions">
                        {k.status === 'active' && (
                          <Button size="sm" variant="danger" onClick={() => setRevoking(k)} testId="revoke-operator-key">
                            {t('common.revoke')}
                          </Button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Card>
        )}
      </ListStates>
      {creating && (
        <CreateDialog
          onClose={() => setCreating(false)}
          onCreated={(created) => {
            setCreating(false);
            setRevealed(created);
            void keys.reload();
          }}
        />
      )}
      {revealed && (
        <SecretReveal
          title={t('opkeys.created', { name: revealed.name })}
          items={[{ label: t('opkeys.key'), value: revealed.key, secret: true, testId: 'secret-operator-key' }]}
          onDone={() => setRevealed(null)}
        />
      )}
      {revoking && (
        <Confirm
          title={t('opkeys.revokeTitle', { name: revoking.name })}
          body={t('opkeys.revokeBody')}
          confirmLabel={t('common.revoke')}
          danger
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await api('admin', 'POST', `/operator-keys/${revoking.id}/revoke`, {});
            await keys.reload();
          }}
        />
      )}
    </>
  );
}

/** The chosen levels as the API's permission names (`write` includes `read`, so one name per area). */
function permissionsOf(levels: Record<Area, Level>): string[] {
  return PERMISSION_AREAS.flatMap((a) => (levels[a] === 'none' ? [] : [`${a}:${levels[a]}`]));
}

function CreateDialog(props: { onClose: () => void; onCreated: (created: NewOperatorKey) => void }): ReactNode {
  const { t } = useI18n();
  const [name, setName] = useState('');
  const [levels, setLevels] = useState<Record<Area, Level>>(() => Object.fromEntries(PERMISSION_AREAS.map((a) => [a, 'none'])) as Record<Area, Level>);
  const [expiry, setExpiry] = useState<number | null>(null);
  const create = useAction(async () => {
    props.onCreated(
      await api<NewOperatorKey>('admin', 'POST', '/operator-keys', {
        name: name.trim(),
        permissions: permissionsOf(levels),
        ...(expiry !== null ? { expiresIn: `${expiry}d` } : {}),
      }),
    );
  });
  const permissionsError = fieldError(create.error, 'permissions', t);
  return (
    <FormDialog
      title={t('opkeys.new')}
      testId="create-operator-key-dialog"
      submitLabel={t('common.create')}
      submitTestId="create-operator-key"
      action={create}
      fields={['name', 'permissions', 'expiresIn']}
      onSubmit={() => void create.run()}
      onClose={props.onClose}
    >
      <Field label={t('common.name')} hint={t('opkeys.nameHint')} error={fieldError(create.error, 'name', t)}>
        {(id, d) => <input id={id} aria-describedby={d} name="name" value={name} maxLength={200} placeholder={t('opkeys.namePlaceholder')} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <fieldset className="field permissions" data-testid="permission-picker">
        <legend>{t('opkeys.permissions')}</legend>
        <p className="field-hint">{t('opkeys.permissionsHint')}</p>
        <table className="table compact">
          <thead>
            <tr>
              <th>{t('opkeys.area')}</th>
              <th>{t('opkeys.level.none')}</th>
              <th>{t('opkeys.level.read')}</th>
              <th>{t('opkeys.level.write')}</th>
            </tr>
          </thead>
          <tbody>
            {PERMISSION_AREAS.map((area) => (
              <tr key={area}>
                <td>
                  <div>{t(`opkeys.area.${area}` as MessageKey)}</div>
                  <Mono>{area}</Mono>
                </td>
                {(['none', 'read', 'write'] as const).map((level) => (
                  <td key={level}>
                    {level === 'write' && READ_ONLY.has(area) ? (
                      <span className="muted">—</span>
                    ) : (
                      <input
                        type="radio"
                        name={`perm-${area}`}
                        checked={levels[area] === level}
                        onChange={() => setLevels({ ...levels, [area]: level })}
                        aria-label={`${t(`opkeys.area.${area}` as MessageKey)}: ${t(`opkeys.level.${level}`)}`}
                        data-testid={`perm-${area}-${level}`}
                      />
                    )}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {permissionsError && <div className="field-error">{permissionsError}</div>}
      </fieldset>
      <Field label={t('opkeys.expiry')} error={fieldError(create.error, 'expiresIn', t)}>
        {(id) => <ExpirySelect id={id} value={expiry} onChange={setExpiry} />}
      </Field>
    </FormDialog>
  );
}
