/** The brand mark and the language switch, shown on every screen. */
import type { ReactNode } from 'react';
import { useI18n } from '../i18n.ts';
import { cx } from './ui.tsx';

export function LanguageSwitch(): ReactNode {
  const { lang, setLang, t } = useI18n();
  return (
    <div className="lang-switch" role="group" aria-label={t('lang.switch')}>
      {(['en', 'ru'] as const).map((l) => (
        <button key={l} type="button" className={cx(lang === l && 'active')} aria-pressed={lang === l} onClick={() => setLang(l)} data-testid={`lang-${l}`}>
          {l === 'en' ? 'English' : 'Русский'}
        </button>
      ))}
    </div>
  );
}

export function Logo(): ReactNode {
  return (
    <svg className="logo" viewBox="0 0 32 32" width="32" height="32" aria-hidden="true">
      <rect width="32" height="32" rx="8" fill="var(--accent)" />
      <path d="M9 12h14M16 12v11" stroke="#fff" strokeWidth="3.2" strokeLinecap="round" />
      <circle cx="23" cy="21" r="2.2" fill="#c7d2fe" />
    </svg>
  );
}
