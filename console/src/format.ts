/** Dates and durations in the console's language. Times from the APIs are unix milliseconds. */
import type { Lang } from './i18n.ts';

const LOCALES: Record<Lang, string> = { en: 'en-GB', ru: 'ru-RU' };

export function formatDateTime(ms: number, lang: Lang): string {
  return new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'medium', timeStyle: 'short' }).format(ms);
}

export function formatDate(ms: number, lang: Lang, options: Intl.DateTimeFormatOptions = { dateStyle: 'medium' }): string {
  return new Intl.DateTimeFormat(LOCALES[lang], options).format(ms);
}

export function formatNumber(n: number, lang: Lang): string {
  return new Intl.NumberFormat(LOCALES[lang]).format(n);
}

/** "in 3 days", "5 minutes ago": the largest unit that fits. */
export function formatRelative(ms: number, now: number, lang: Lang): string {
  const diff = ms - now;
  const abs = Math.abs(diff);
  const rtf = new Intl.RelativeTimeFormat(LOCALES[lang], { numeric: 'auto' });
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['year', 365 * 86_400_000],
    ['month', 30 * 86_400_000],
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
  ];
  for (const [unit, size] of units) {
    if (abs >= size) return rtf.format(Math.round(diff / size), unit);
  }
  return rtf.format(Math.round(diff / 1000), 'second');
}

/** Seconds as "15 min", "24 h", "7 d": for Retry-After and grace periods. */
export function formatSeconds(seconds: number, lang: Lang): string {
  const ru = lang === 'ru';
  if (seconds < 60) return ru ? `${seconds} с` : `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 120) return ru ? `${minutes} мин` : `${minutes} min`;
  const hours = Math.ceil(minutes / 60);
  if (hours <= 48 || hours % 24 !== 0) return ru ? `${hours} ч` : `${hours} h`;
  return ru ? `${hours / 24} дн.` : `${hours / 24} d`;
}
