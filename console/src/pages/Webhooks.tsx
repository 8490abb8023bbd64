import { useState, type ReactNode } from 'react';
import { api, type Area, type NewWebhookEndpoint, type WebhookAttemptPage, type WebhookDeliveryPage, type WebhookEndpointItem, type WebhookEndpointPage } from '../api.ts';
import { Button, Card, Confirm, DateCell, EmptyState, Field, fieldError, FormDialog, Icons, ListStates, Mono, PageHeader, SecretReveal, StatusBadge } from '../components/ui.tsx';
import { useAction, useResource } from '../hooks.ts';
import { useI18n } from '../i18n.ts';
import { WEBHOOK_EVENT_TYPES } from '../../../src/http/native/webhook-schemas.ts';

/**
 * Webhook endpoints: an account's own (cabinet) or every one (operator). The signing secret shows
 * once; each endpoint's deliveries and attempts are listed, and a delivery can be sent again.
 */
export function WebhooksPage(props: { area: Area }): ReactNode {
  const { t } = useI18n();
  const { area } = props;
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<{ kind: 'delete' | 'rotate'; endpoint: WebhookEndpointItem } | null>(null);
  const endpoints = useResource(async () => (await api<WebhookEndpointPage>(area, 'GET', '/webhooks?limit=500')).items, [area]);
  const toggle = useAction(async (e: WebhookEndpointItem) => {
    await api(area, 'PATCH', `/webhooks/${e.id}`, { enabled: !e.enabled });
    await endpoints.reload();
  });

  const newButton = (
    <Button variant="primary" onClick={() => setCreating(true)} testId="new-webhook">
      + {t('webhooks.new')}
    </Button>
  );
  return (
    <>
      <PageHeader title={t('webhooks.title')} subtitle={t(area === 'admin' ? 'webhooks.subtitleOperator' : 'webhooks.subtitle')} actions={newButton} />
      <ListStates
        items={endpoints.data}
        loading={endpoints.loading}
        error={endpoints.error}
        onRetry={() => void endpoints.reload()}
        {...(area === 'admin' ? { context: 'operator' as const } : {})}
        empty={<EmptyState icon={Icons.key} title={t('webhooks.empty')} hint={t('webhooks.emptyHint')} action={newButton} />}
      >
        {(items) => (
          <>
            {items.map((e) => (
              <Card
                key={e.id}
                testId="webhook-endpoint"
                title={<Mono title={e.url}>{e.url}</Mono>}
                actions={
                  <>
                    <Button variant="ghost" size="sm" onClick={() => setOpen(open === e.id ? null : e.id)} testId="webhook-deliveries">
                      {t(open === e.id ? 'webhooks.hide' : 'webhooks.deliveries')}
                    </Button>
                    <Button variant="ghost" size="sm" busy={toggle.busy} onClick={() => void toggle.run(e)} testId="webhook-toggle">
                      {t(e.enabled ? 'common.disable' : 'common.enable')}
                    </Button>
                    <Button variant="ghost" size="sm" onClick={() => setConfirm({ kind: 'rotate', endpoint: e })} testId="webhook-rotate">
                      {t('webhooks.rotateSecret')}
                    </Button>
                    <Button variant="danger" size="sm" onClick={() => setConfirm({ kind: 'delete', endpoint: e })} testId="webhook-delete">
                      {t('webhooks.delete')}
                    </Button>
                  </>
                }
              >
                <dl className="facts">
                  <Fact label={t('common.status')}>
                    <StatusBadge status={e.enabled ? 'active' : 'disabled'} />
                  </Fact>
                  <Fact label={t('webhooks.events')}>{e.eventTypes.length === 0 ? t('webhooks.allEvents') : e.eventTypes.join(', ')}</Fact>
                  {area === 'admin' && <Fact label={t('webhooks.owner')}>{e.accountId === null ? t('webhooks.operatorOwned') : `#${e.accountId}`}</Fact>}
                  <Fact label={t('webhooks.secret')}>
                    <Mono>{e.secretHint}</Mono>
                  </Fact>
                  {e.description && <Fact label={t('webhooks.description')}>{e.description}</Fact>}
                  <Fact label={t('common.created')}>
                    <DateCell at={e.createdAt} withTime />
                  </Fact>
                </dl>
                {open === e.id && <Deliveries area={area} endpointId={e.id} />}
              </Card>
            ))}
          </>
        )}
      </ListStates>
      {creating && (
        <NewEndpointDialog
          area={area}
          onClose={() => setCreating(false)}
          onCreated={(created) => {
            setCreating(false);
            setSecret(created.secret);
            void endpoints.reload();
          }}
        />
      )}
      {secret && (
        <SecretReveal
          title={t('webhooks.secretTitle')}
          warning={t('webhooks.secretWarning')}
          items={[{ label: t('webhooks.secret'), value: secret, secret: true, testId: 'webhook-secret' }]}
          onDone={() => setSecret(null)}
        />
      )}
      {confirm && (
        <Confirm
          title={t(confirm.kind === 'delete' ? 'webhooks.deleteTitle' : 'webhooks.rotateTitle')}
          body={t(confirm.kind === 'delete' ? 'webhooks.deleteBody' : 'webhooks.rotateBody')}
          confirmLabel={t(confirm.kind === 'delete' ? 'webhooks.delete' : 'webhooks.rotateSecret')}
          danger={confirm.kind === 'delete'}
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            if (confirm.kind === 'delete') await api(area, 'DELETE', `/webhooks/${confirm.endpoint.id}`);
            else setSecret((await api<NewWebhookEndpoint>(area, 'POST', `/webhooks/${confirm.endpoint.id}/rotate-secret`, {})).secret);
            await endpoints.reload();
          }}
        />
      )}
    </>
  );
}

function Fact(props: { label: string; children: ReactNode }): ReactNode {
  return (
    <div>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </div>
  );
}

function Deliveries(props: { area: Area; endpointId: string }): ReactNode {
  const { t } = useI18n();
  const { area, endpointId } = props;
  const data = useResource(async () => {
    const [deliveries, attempts] = await Promise.all([
      api<WebhookDeliveryPage>(area, 'GET', `/webhooks/${endpointId}/deliveries?limit=20`),
      api<WebhookAttemptPage>(area, 'GET', `/webhooks/${endpointId}/attempts?limit=50`),
    ]);
    return { deliveries: deliveries.items, attempts: attempts.items };
  }, [area, endpointId]);
  const redeliver = useAction(async (id: number) => {
    await api(area, 'POST', `/webhooks/${endpointId}/deliveries/${id}/redeliver`, {});
    await data.reload();
  });
  if (!data.data) return null;
  const { deliveries, attempts } = data.data;
  if (deliveries.length === 0) return <p className="muted webhook-deliveries">{t('webhooks.noDeliveries')}</p>;
  return (
    <div className="webhook-deliveries">
      <h3>{t('webhooks.deliveries')}</h3>
      <table className="table" data-testid="webhook-delivery-table">
        <thead>
          <tr>
            <th>{t('webhooks.type')}</th>
            <th>{t('common.status')}</th>
            <th>{t('webhooks.attempts')}</th>
            <th>{t('webhooks.response')}</th>
            <th>{t('common.created')}</th>
            <th>{t('common.actions')}</th>
          </tr>
        </thead>
        <tbody>
          {deliveries.map((d) => (
            <tr key={d.id} data-testid="webhook-delivery-row" data-status={d.status}>
              <td>
                <Mono title={d.messageId}>{d.type}</Mono>
              </td>
              <td>
                <StatusBadge status={d.status} />
              </td>
              <td>{d.attempts}</td>
              <td>{d.lastStatus ?? (d.lastError ? <span title={d.lastError}>{t('webhooks.noAnswer')}</span> : '—')}</td>
              <td>
                <DateCell at={d.createdAt} withTime />
              </td>
              <td>
                <Button variant="ghost" size="sm" busy={redeliver.busy} onClick={() => void redeliver.run(d.id)} testId="webhook-redeliver">
                  {t('webhooks.redeliver')}
                </Button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>{t('webhooks.recentAttempts')}</h3>
      <table className="table" data-testid="webhook-attempt-table">
        <thead>
          <tr>
            <th>{t('webhooks.attempt')}</th>
            <th>{t('webhooks.sentAt')}</th>
            <th>{t('webhooks.response')}</th>
            <th>{t('webhooks.latency')}</th>
            <th>{t('webhooks.error')}</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((a) => (
            <tr key={a.id} data-testid="webhook-attempt-row">
              <td>
                <Mono title={a.messageId}>#{a.attempt}</Mono>
              </td>
              <td>
                <DateCell at={a.at} withTime />
              </td>
              <td>{a.statusCode ?? '—'}</td>
              <td>{a.latencyMs} ms</td>
              <td>{a.error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function NewEndpointDialog(props: { area: Area; onClose: () => void; onCreated: (created: NewWebhookEndpoint) => void }): ReactNode {
  const { t } = useI18n();
  const [url, setUrl] = useState('https://');
  const [types, setTypes] = useState<string[]>([]);
  const [description, setDescription] = useState('');
  const create = useAction(async () => {
    const created = await api<NewWebhookEndpoint>(props.area, 'POST', '/webhooks', { url: url.trim(), eventTypes: types, ...(description.trim() ? { description: description.trim() } : {}) });
    props.onCreated(created);
  });
  return (
    <FormDialog
      title={t('webhooks.new')}
      submitLabel={t('common.create')}
      submitTestId="create-webhook"
      action={create}
      fields={['url', 'eventTypes', 'description']}
      onSubmit={() => void create.run()}
      onClose={props.onClose}
    >
      <Field label={t('webhooks.url')} hint={t('webhooks.urlHint')} error={fieldError(create.error, 'url', t)}>
        {(id, d) => <input id={id} aria-describedby={d} value={url} maxLength={2048} inputMode="url" onChange={(e) => setUrl(e.target.value)} data-testid="webhook-url" />}
      </Field>
      <fieldset className="checks">
        <legend>{t('webhooks.events')}</legend>
        <p className="muted">{t('webhooks.eventsHint')}</p>
        {WEBHOOK_EVENT_TYPES.map((type) => (
          <label key={type}>
            <input
              type="checkbox"
              checked={types.includes(type)}
              onChange={(e) => setTypes(e.target.checked ? [...types, type] : types.filter((x) => x !== type))}
            />{' '}
            <code>{type}</code>
          </label>
        ))}
      </fieldset>
      <Field label={t('webhooks.description')} optional error={fieldError(create.error, 'description', t)}>
        {(id, d) => <input id={id} aria-describedby={d} value={description} maxLength={200} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
    </FormDialog>
  );
}
