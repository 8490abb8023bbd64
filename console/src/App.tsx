/**
 * The console shell: who is signed in (an account, the operator, or both: two separate cookies),
 * the navigation, the language switch, and which page to show.
 */
import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, onUnauthenticated, setCsrfToken, type Me, type OperatorMe } from './api.ts';
import { LanguageSwitch, Logo } from './components/chrome.tsx';
import { Button, cx, Loading } from './components/ui.tsx';
import { I18nContext, initialLang, rememberLang, translator, useI18n, type I18n, type Lang, type MessageKey } from './i18n.ts';
import { ActivityPage } from './pages/Activity.tsx';
import { AccountsPage } from './pages/admin/Accounts.tsx';
import { SettingsPage } from './pages/admin/Settings.tsx';
import { SigningKeysPage } from './pages/admin/SigningKeys.tsx';
import { ApiTokensPage } from './pages/ApiTokens.tsx';
import { AppsPage } from './pages/Apps.tsx';
import { OverviewPage } from './pages/Overview.tsx';
import { PasswordPage, ResetPasswordPage } from './pages/Password.tsx';
import { ServiceAccountsPage } from './pages/ServiceAccounts.tsx';
import { SessionsPage } from './pages/Sessions.tsx';
import { SignInPage } from './pages/SignIn.tsx';
import { UsagePage } from './pages/Usage.tsx';
import { WebhooksPage } from './pages/Webhooks.tsx';
import { navigate, useRoute } from './router.ts';

interface NavItem {
  path: string;
  label: MessageKey;
  render: () => ReactNode;
}

export function App(): ReactNode {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const i18n = useMemo<I18n>(
    () => ({
      lang,
      t: translator(lang),
      setLang(next) {
        rememberLang(next);
        setLangState(next);
      },
    }),
    [lang],
  );
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  return (
    <I18nContext.Provider value={i18n}>
      <Shell />
    </I18nContext.Provider>
  );
}

function Shell(): ReactNode {
  const { t } = useI18n();
  const route = useRoute();
  const [me, setMe] = useState<Me | null>(null);
  const [operator, setOperator] = useState<OperatorMe | null>(null);
  const [checking, setChecking] = useState(true);

  // A reload keeps the sign-ins (HttpOnly cookies); /me tells who we are and hands out the CSRF tokens.
  useEffect(() => {
    onUnauthenticated('cabinet', () => setMe(null));
    onUnauthenticated('admin', () => setOperator(null));
    const quiet = <T,>(p: Promise<T>): Promise<T | null> => p.catch(() => null);
    void Promise.all([quiet(api<Me>('cabinet', 'GET', '/me')), quiet(api<OperatorMe>('admin', 'GET', '/me'))]).then(([m, o]) => {
      if (m) setCsrfToken('cabinet', m.csrfToken);
      if (o) setCsrfToken('admin', o.csrfToken);
      setMe(m);
      setOperator(o);
      setChecking(false);
    });
    return () => {
      onUnauthenticated('cabinet', null);
      onUnauthenticated('admin', null);
    };
  }, []);

  const refreshMe = useCallback(async () => {
    const m = await api<Me>('cabinet', 'GET', '/me');
    setCsrfToken('cabinet', m.csrfToken);
    setMe(m);
  }, []);

  const accountNav: NavItem[] = me
    ? [
        { path: '', label: 'nav.overview', render: () => <OverviewPage me={me} /> },
        { path: 'apps', label: 'nav.apps', render: () => <AppsPage me={me} /> },
        { path: 'service-accounts', label: 'nav.serviceAccounts', render: () => <ServiceAccountsPage /> },
        { path: 'api-tokens', label: 'nav.apiTokens', render: () => <ApiTokensPage /> },
        { path: 'sessions', label: 'nav.sessions', render: () => <SessionsPage /> },
        { path: 'activity', label: 'nav.activity', render: () => <ActivityPage /> },
        { path: 'usage', label: 'nav.usage', render: () => <UsagePage /> },
        { path: 'webhooks', label: 'nav.webhooks', render: () => <WebhooksPage area="cabinet" /> },
        { path: 'password', label: 'nav.password', render: () => <PasswordPage /> },
      ]
    : [];
  const operatorNav: NavItem[] = operator
    ? [
        { path: 'admin/accounts', label: 'nav.accounts', render: () => <AccountsPage /> },
        { path: 'admin/signing-keys', label: 'nav.signingKeys', render: () => <SigningKeysPage /> },
        { path: 'admin/webhooks', label: 'nav.webhooks', render: () => <WebhooksPage area="admin" /> },
        { path: 'admin/settings', label: 'nav.settings', render: () => <SettingsPage operator={operator} /> },
      ]
    : [];

  const signedIn = Boolean(me || operator);
  const wantsSignIn = route === 'sign-in' || route === 'sign-in/operator';

  // A reset link from the operator: open to anyone holding it, signed in or not.
  const resetting = route === 'reset-password';

  useEffect(() => {
    if (checking || resetting) return;
    if (!signedIn && !wantsSignIn) navigate('sign-in', { replace: true });
    else if (signedIn && !wantsSignIn) {
      const known = [...accountNav, ...operatorNav].some((n) => n.path === route);
      if (!known) navigate(me ? '' : 'admin/accounts', { replace: true });
    }
  });

  if (resetting) return <ResetPasswordPage />;

  if (checking) {
    return (
      <div className="boot">
        <Loading />
      </div>
    );
  }

  if (!signedIn || wantsSignIn) {
    return (
      <SignInPage
        initialTab={route === 'sign-in/operator' ? 'operator' : 'account'}
        onAccount={(m) => {
          setMe(m);
          navigate('', { replace: true });
        }}
        onOperator={(o) => {
          setOperator(o);
          navigate('admin/accounts', { replace: true });
        }}
        onBack={signedIn ? () => navigate(me ? '' : 'admin/accounts') : undefined}
      />
    );
  }

  const page = [...accountNav, ...operatorNav].find((n) => n.path === route);
  document.title = page ? `${t(page.label)} · tokend` : 'tokend';

  async function signOut(area: 'cabinet' | 'admin'): Promise<void> {
    try {
      await api(area, 'DELETE', '/session');
    } catch {
      // Already gone on the server: forget it here too.
    }
    setCsrfToken(area, null);
    if (area === 'cabinet') setMe(null);
    else setOperator(null);
    const stillSignedIn = area === 'cabinet' ? operator : me;
    navigate(stillSignedIn ? (area === 'cabinet' ? 'admin/accounts' : '') : 'sign-in', { replace: true });
  }

  return (
    <div className="layout">
      <aside className="sidebar">
        <div className="brand">
          <Logo />
          <div>
            <div className="brand-name">{t('app.name')}</div>
            <div className="brand-tagline">{t('app.tagline')}</div>
          </div>
        </div>
        <nav aria-label="main">
          {me && (
            <NavSection title={t('nav.account')} items={accountNav} route={route} onSignOut={() => void signOut('cabinet')} who={me.account.email} />
          )}
          {operator && <NavSection title={t('nav.operator')} items={operatorNav} route={route} onSignOut={() => void signOut('admin')} who={null} />}
          <div className="nav-extra">
            {!me && (
              <a href="/console/sign-in" className="nav-link subtle" onClick={(e) => (e.preventDefault(), navigate('sign-in'))}>
                {t('nav.signInAccount')}
              </a>
            )}
            {!operator && (
              <a href="/console/sign-in/operator" className="nav-link subtle" onClick={(e) => (e.preventDefault(), navigate('sign-in/operator'))}>
                {t('nav.signInOperator')}
              </a>
            )}
          </div>
        </nav>
        <LanguageSwitch />
      </aside>
      <main className="content" key={route}>
        {page?.render() ?? <Loading />}
      </main>
      <RefreshOnFocus onFocus={me ? refreshMe : null} />
    </div>
  );
}

function NavSection(props: { title: string; items: NavItem[]; route: string; onSignOut: () => void; who: string | null }): ReactNode {
  const { t } = useI18n();
  return (
    <div className="nav-section">
      <div className="nav-title">{props.title}</div>
      {props.who && (
        <div className="nav-who" title={props.who}>
          {props.who}
        </div>
      )}
      {props.items.map((item) => (
        <a
          key={item.path}
          href={`/console/${item.path}`}
          className={cx('nav-link', props.route === item.path && 'active')}
          aria-current={props.route === item.path ? 'page' : undefined}
          onClick={(e) => {
            e.preventDefault();
            navigate(item.path);
          }}
        >
          {t(item.label)}
        </a>
      ))}
      <Button variant="ghost" size="sm" onClick={props.onSignOut} testId={`sign-out-${props.who ? 'account' : 'operator'}`}>
        {t(props.who ? 'nav.signOutAccount' : 'nav.signOutOperator')}
      </Button>
    </div>
  );
}

/** Coming back to the tab re-reads /me: a sign-in that ended meanwhile shows the sign-in page at once. */
function RefreshOnFocus(props: { onFocus: (() => Promise<void>) | null }): null {
  const { onFocus } = props;
  useEffect(() => {
    if (!onFocus) return;
    const handler = (): void => {
      if (document.visibilityState === 'visible') void onFocus().catch(() => {});
    };
    document.addEventListener('visibilitychange', handler);
    return () => document.removeEventListener('visibilitychange', handler);
  }, [onFocus]);
  return null;
}
