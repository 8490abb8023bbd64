import type { ReactNode } from 'react';
import { api, type OperatorMe, type Settings } from '../../api.ts';
import { Card, ErrorNotice, Loading, Mono, PageHeader } from '../../components/ui.tsx';
import { useResource } from '../../hooks.ts';
import { useI18n } from '../../i18n.ts';

export function SettingsPage(props: { operator: OperatorMe }): ReactNode {
  const { t } = useI18n();
  const settings = useResource(() => api<Settings>('admin', 'GET', '/settings'), []);
  const s = settings.data;
  return (
    <>
      <PageHeader title={t('admin.settings.title')} subtitle={t('admin.settings.subtitle')} />
      {settings.error ? <ErrorNotice error={settings.error} onRetry={() => void settings.reload()} context="operator" /> : null}
      {settings.loading && !s ? <Loading /> : null}
      {s && (
        <Card title={`${t('admin.settings.database')}: ${s.database ?? props.operator.database}`}>
          <table className="table settings">
            <thead>
              <tr>
                <th>{t('admin.settings.variable')}</th>
                <th>{t('admin.settings.value')}</th>
                <th>{t('admin.settings.default')}</th>
              </tr>
            </thead>
            <tbody>
              {s.items.map((item) => (
                <tr key={item.env} data-testid="setting-row" data-env={item.env}>
                  <td>
                    <Mono>{item.env}</Mono>
                    <div className="setting-doc">{item.doc}</div>
                  </td>
                  <td>
                    {item.secret ? (
                      <span className={item.set ? 'tag' : 'muted'}>{item.set ? t('admin.settings.set') : t('admin.settings.notSet')}</span>
                    ) : (
                      <>
                        <Mono>{item.value === '' ? '""' : item.value}</Mono>
                        {!item.isDefault && <span className="tag tag-accent">{t('admin.settings.changed')}</span>}
                      </>
                    )}
                  </td>
                  <td>
                    <Mono>{item.default}</Mono>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
    </>
  );
}
