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
    when: 'The API token is valid, but the operator disabled its account.' },
  ...failureCodes({ malformed_body: { en: 'Malformed request', ru: 'Некорректный запрос' } }),
} as const satisfies Record<string, ErrorCodeSpec>;

export type InvoiceboxCode = keyof typeof INVOICEBOX_CODES;

/** The code of each framework failure (src/http/failures.ts). */
export const INVOICEBOX_FAILURES = failureNames(INVOICEBOX_CODES);
