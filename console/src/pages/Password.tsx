/**
 * Passwords: the signed-in account changes its own (its other console sign-ins end), and the page a
 * reset link from the operator lands on. The link's token is in the URL fragment (browsers never
 * send it to a server); the page takes it out of the address bar at once and sends it only in the
 * body of `POST /api/cabinet/password-reset`.
 */
import { useState, type ReactNode } from 'react';
import { api, ApiError } from '../api.ts';
import { LanguageSwitch, Logo } from '../components/chrome.tsx';
import { Button, Card, errorText, Field, fieldError, PageHeader } from '../components/ui.tsx';
import { useAction } from '../hooks.ts';
import { useI18n } from '../i18n.ts';
import { navigate } from '../router.ts';

function mismatch(): ApiError {
  return new ApiError(400, 'validation_failed', '', [{ name: 'repeat', code: 'mismatch', message: '' }]);
}

export function PasswordPage(): ReactNode {
  const { t, lang } = useI18n();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [done, setDone] = useState(false);
  const change = useAction(async () => {
    setDone(false);
    if (next !== repeat) throw mismatch();
    await api('cabinet', 'PUT', '/password', { currentPassword: current, newPassword: next });
    setCurrent('');
    setNext('');
    setRepeat('');
    setDone(true);
  });
  const { busy, error } = change;
  const wrongCurrent = error instanceof ApiError && error.code === 'invalid_credentials' ? t('password.wrongCurrent') : undefined;
  const general = error instanceof ApiError && ['invalid_credentials', 'validation_failed'].includes(error.code) ? null : error;
  return (
    <>
      <PageHeader title={t('password.title')} subtitle={t('password.subtitle')} />
      <Card>
        <form onSubmit={(e) => {
            e.preventDefault();
            void change.run();
          }} noValidate data-testid="password-change">
          {done && (
            <div className="notice notice-warning" role="status" data-testid="password-changed">
              {t('password.done')}
            </div>
          )}
          {general ? (
            <div className="notice notice-error" role="alert">
              {errorText(general, t, lang)}
            </div>
          ) : null}
          <Field label={t('password.current')} error={fieldError(error, 'currentPassword', t) ?? wrongCurrent}>
            {(id, d) => <input id={id} aria-describedby={d} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />}
          </Field>
          <PasswordFields next={next} repeat={repeat} setNext={setNext} setRepeat={setRepeat} error={error} nextField="newPassword" />
          <Button type="submit" variant="primary" busy={busy} testId="password-submit">
            {t('password.submit')}
          </Button>
        </form>
      </Card>
    </>
  );
}

function PasswordFields(props: { next: string; repeat: string; setNext: (v: string) => void; setRepeat: (v: string) => void; error: unknown; nextField: string }): ReactNode {
  const { t } = useI18n();
  const tooShort = props.error instanceof ApiError && props.error.field(props.nextField)?.code === 'invalid' ? t('password.rules') : undefined;
  const repeatError = props.error instanceof ApiError && props.error.field('repeat') ? t('password.mismatch') : undefined;
  return (
    <>
      <Field label={t('password.new')} hint={t('password.rules')} error={tooShort ?? fieldError(props.error, props.nextField, t)}>
        {(id, d) => <input id={id} aria-describedby={d} type="password" autoComplete="new-password" value={props.next} onChange={(e) => props.setNext(e.target.value)} />}
      </Field>
      <Field label={t('password.repeat')} error={repeatError}>
        {(id, d) => <input id={id} aria-describedby={d} type="password" autoComplete="new-password" value={props.repeat} onChange={(e) => props.setRepeat(e.target.value)} />}
      </Field>
    </>
  );
}

let resetToken: string | null | undefined;

/**
 * Read once per page load (a render run twice still finds it): the fragment is then removed from
 * the address bar, and so from the history.
 */
function takeResetToken(): string | null {
  if (resetToken === undefined) {
    resetToken = new URLSearchParams(location.hash.slice(1)).get('token');
    if (location.hash) history.replaceState(null, '', location.pathname);
  }
  return resetToken;
}

export function ResetPasswordPage(): ReactNode {
  const { t, lang } = useI18n();
  const [token] = useState(takeResetToken);
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [done, setDone] = useState(false);
  const reset = useAction(async () => {
    if (next !== repeat) throw mismatch();
    await api('cabinet', 'POST', '/password-reset', { token, password: next });
    setDone(true);
  });
  const { busy, error } = reset;
  const general = error instanceof ApiError && error.code === 'validation_failed' ? null : error;
  return (
    <div className="signin">
      <div className="signin-card">
        <div className="signin-brand">
          <Logo />
          <span className="brand-name">{t('app.name')}</span>
        </div>
        <h1>{t('reset.title')}</h1>
        {!token ? (
          <div className="notice notice-error" role="alert" data-testid="reset-missing">
            {t('reset.missing')}
          </div>
        ) : done ? (
          <>
            <p className="subtitle" data-testid="reset-done">
              {t('reset.done')}
            </p>
            <Button variant="primary" onClick={() => navigate('sign-in', { replace: true })} testId="reset-sign-in">
              {t('reset.toSignIn')}
            </Button>
          </>
        ) : (
          <form onSubmit={(e) => {
              e.preventDefault();
              void reset.run();
            }} noValidate data-testid="reset-form">
            <p className="subtitle">{t('reset.subtitle')}</p>
            {general ? (
              <div className="notice notice-error" role="alert" data-testid="reset-error">
                {errorText(general, t, lang)}
              </div>
            ) : null}
            <PasswordFields next={next} repeat={repeat} setNext={setNext} setRepeat={setRepeat} error={error} nextField="password" />
            <Button type="submit" variant="primary" busy={busy} testId="reset-submit">
              {t('reset.submit')}
            </Button>
          </form>
        )}
      </div>
      <LanguageSwitch />
    </div>
  );
}
