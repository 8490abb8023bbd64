import { useState, type ReactNode } from 'react';
import { api, ApiError, setCsrfToken, type Me, type OperatorMe } from '../api.ts';
import { LanguageSwitch, Logo } from '../components/chrome.tsx';
import { Button, cx, errorText, Field, fieldError } from '../components/ui.tsx';
import { useAction } from '../hooks.ts';
import { useI18n } from '../i18n.ts';
import { navigate } from '../router.ts';

type Tab = 'account' | 'operator';

export function SignInPage(props: {
  initialTab: Tab;
  onAccount: (me: Me) => void;
  onOperator: (me: OperatorMe) => void;
  onBack?: (() => void) | undefined;
}): ReactNode {
  const { t } = useI18n();
  const tab = props.initialTab;
  return (
    <div className="signin">
      <div className="signin-card">
        <div className="signin-brand">
          <Logo />
          <span className="brand-name">{t('app.name')}</span>
        </div>
        <div className="tabs" role="tablist">
          {(['account', 'operator'] as const).map((name) => (
            <button
              key={name}
              type="button"
              role="tab"
              aria-selected={tab === name}
              className={cx('tab', tab === name && 'active')}
              onClick={() => navigate(name === 'account' ? 'sign-in' : 'sign-in/operator', { replace: true })}
              data-testid={`tab-${name}`}
            >
              {t(name === 'account' ? 'signin.tab.account' : 'signin.tab.operator')}
            </button>
          ))}
        </div>
        {tab === 'account' ? <AccountForm onDone={props.onAccount} /> : <OperatorForm onDone={props.onOperator} />}
        {props.onBack && (
          <button type="button" className="link-button" onClick={props.onBack}>
            ← {t('common.cancel')}
          </button>
        )}
      </div>
      <LanguageSwitch />
    </div>
  );
}

function AccountForm(props: { onDone: (me: Me) => void }): ReactNode {
  const { t, lang } = useI18n();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // A field left empty is refused here, in the server's words (a validation error naming it).
  const signIn = useAction(async () => {
    const missing: { name: string; code: string; message: string }[] = [];
    if (!email.trim()) missing.push({ name: 'email', code: 'required', message: '' });
    if (!password) missing.push({ name: 'password', code: 'required', message: '' });
    if (missing.length) throw new ApiError(400, 'validation_failed', '', missing);
    await api('cabinet', 'POST', '/session', { email, password });
    const me = await api<Me>('cabinet', 'GET', '/me');
    setCsrfToken('cabinet', me.csrfToken);
    setPassword('');
    props.onDone(me);
  });
  const { busy, error } = signIn;

  // Wrong credentials belong to the password field: that is where the user looks and retypes.
  const credentials = error instanceof ApiError && error.code === 'invalid_credentials' ? errorText(error, t, lang) : undefined;
  const general = error instanceof ApiError && ['invalid_credentials', 'validation_failed'].includes(error.code) ? null : error;
  return (
    <form onSubmit={(e) => {
        e.preventDefault();
        void signIn.run();
      }} noValidate data-testid="signin-account">
      <h1>{t('signin.title')}</h1>
      <p className="subtitle">{t('signin.subtitle')}</p>
      {general ? (
        <div className="notice notice-error" role="alert" data-testid="signin-error">
          {errorText(general, t, lang)}
        </div>
      ) : null}
      <Field label={t('signin.email')} error={fieldError(error, 'email', t)}>
        {(id, d) => (
          <input id={id} aria-describedby={d} type="email" name="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
        )}
      </Field>
      <Field label={t('signin.password')} error={fieldError(error, 'password', t) ?? credentials}>
        {(id, d) => (
          <input id={id} aria-describedby={d} type="password" name="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        )}
      </Field>
      <Button type="submit" variant="primary" busy={busy} testId="signin-submit">
        {t('signin.submit')}
      </Button>
    </form>
  );
}

function OperatorForm(props: { onDone: (me: OperatorMe) => void }): ReactNode {
  const { t, lang } = useI18n();
  const [token, setToken] = useState('');
  const signIn = useAction(async () => {
    if (!token.trim()) throw new ApiError(400, 'validation_failed', '', [{ name: 'token', code: 'required', message: '' }]);
    await api('admin', 'POST', '/session', { token: token.trim() });
    const me = await api<OperatorMe>('admin', 'GET', '/me');
    setCsrfToken('admin', me.csrfToken);
    setToken('');
    props.onDone(me);
  });
  const { busy, error } = signIn;

  const tokenError =
    fieldError(error, 'token', t) ?? (error instanceof ApiError && error.code === 'invalid_credentials' ? errorText(error, t, lang, 'operator') : undefined);
  const general = error instanceof ApiError && ['invalid_credentials', 'validation_failed'].includes(error.code) ? null : error;
  return (
    <form onSubmit={(e) => {
        e.preventDefault();
        void signIn.run();
      }} noValidate data-testid="signin-operator">
      <h1>{t('signin.title')}</h1>
      <p className="subtitle">{t('signin.operatorSubtitle')}</p>
      {general ? (
        <div className="notice notice-error" role="alert">
          {errorText(general, t, lang, 'operator')}
        </div>
      ) : null}
      <Field label={t('signin.adminToken')} hint={t('signin.adminTokenHint')} error={tokenError}>
        {(id, d) => (
          <input id={id} aria-describedby={d} type="password" name="token" autoComplete="off" spellCheck={false} value={token} onChange={(e) => setToken(e.target.value)} autoFocus />
        )}
      </Field>
      <Button type="submit" variant="primary" busy={busy} testId="signin-operator-submit">
        {t('signin.submit')}
      </Button>
    </form>
  );
}
