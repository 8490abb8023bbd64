/** Message language: `Lang: ru|en` wins, then `Accept-Language`; English by default (docs/errors.md). */
export type Lang = 'en' | 'ru';

export function pickLang(headers: Record<string, string | string[] | undefined>): Lang {
  const lang = headerValue(headers['lang'])?.trim().toLowerCase();
  if (lang === 'ru' || lang === 'en') return lang;
  const accept = headerValue(headers['accept-language']);
  if (!accept) return 'en';
  let best: { lang: Lang; q: number } | null = null;
  for (const part of accept.split(',').slice(0, 20)) {
    const [tag, ...params] = part.trim().toLowerCase().split(';');
    const primary = tag?.split('-')[0];
    if (primary !== 'ru' && primary !== 'en') continue;
    const qParam = params.find((p) => p.trim().startsWith('q='));
    const q = qParam ? Number(qParam.trim().slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) continue;
    if (!best || q > best.q) best = { lang: primary, q };
  }
  return best?.lang ?? 'en';
}

/** The single value of a header; a header sent twice is treated as absent-or-ambiguous by callers. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}
