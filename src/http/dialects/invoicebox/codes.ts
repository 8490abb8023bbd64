import type { ErrorCodeSpec } from '../../dialect.ts';
import { failureCodes, failureNames } from '../../failures.ts';

/**
 * Invoicebox dialect error codes. `unauthorized` / `Unauthorized` (401) and `forbidden` (403) are
 * the public API's own; the others are tokend's, stable, in the same lower-snake style. Messages
 * are always English, like the API's: its clients compare the body exactly.
 */
export const INVOICEBOX_CODES = {
  unauthorized: { status: 401, en: 'Unauthorized', ru: 'Не авторизован',
    when: 'The Authorization header carries no valid API token: malformed, unknown, revoked, expired, past its rotation grace period, or an l3 token under another account\'s number.' },
  forbidden: { status: 403, en: 'Forbidden', ru: 'Доступ запрещён',
    when: 'The API token is valid, but the operator disabled its account, or the client address is outside the token\'s IP allow-list, or the token lacks a required scope (docs/policies.md).' },
  too_many_requests: { status: 429, en: 'Too Many Requests', ru: 'Слишком много запросов',
    when: 'The API token is valid, but its rate limit is used up (docs/policies.md). `Retry-After`, `RateLimit-Policy` and `RateLimit` say when and which window.' },
  credits_exhausted: { status: 429, en: 'Credits exhausted', ru: 'Кредиты исчерпаны',
    when: 'The API token is valid, but it has no credits left (docs/policies.md). `Retry-After` says when they refill (a day when they never do).' },
  ...failureCodes({ malformed_body: { en: 'Malformed request', ru: 'Некорректный запрос' } }),
} as const satisfies Record<string, ErrorCodeSpec>;

export type InvoiceboxCode = keyof typeof INVOICEBOX_CODES;

/** The code of each framework failure (src/http/failures.ts). */
export const INVOICEBOX_FAILURES = failureNames(INVOICEBOX_CODES);
