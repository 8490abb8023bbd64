import type { ErrorCodeSpec } from '../../dialect.ts';

/**
 * Invoicebox dialect error codes. `unauthorized` / `Unauthorized` (401) is fixed by seed 002 and
 * `forbidden` (403) by SPEC 3.3; the others are tokend's, stable, in the same lower-snake style.
 * Messages are always English, like the seed's: clients of this API compare the body exactly.
 */
export const INVOICEBOX_CODES = {
  unauthorized: { status: 401, en: 'Unauthorized', ru: 'Не авторизован',
    when: 'The Authorization header carries no valid API token: malformed, unknown, revoked, expired, past its rotation grace period, or an l3 token under another account\'s number.' },
  forbidden: { status: 403, en: 'Forbidden', ru: 'Доступ запрещён',
    when: 'The API token is valid, but the operator disabled its account.' },
  validation_error: { status: 400, en: 'Validation error', ru: 'Ошибка валидации',
    when: 'A request field is invalid; `error.fields` lists each one (`name`, `code`, `message`).' },
  bad_request: { status: 400, en: 'Malformed request', ru: 'Некорректный запрос',
    when: 'The request (or its body) cannot be parsed.' },
  token_in_query: { status: 400, en: 'Credentials must not be sent in the URL', ru: 'Учётные данные нельзя передавать в URL',
    when: 'The query string carries a token; send it as `Authorization: Bearer <token>`.' },
  not_found: { status: 404, en: 'Not found', ru: 'Не найдено',
    when: 'No such route under /v3 or /l3 (tokend serves only the auth check of this API).' },
  payload_too_large: { status: 413, en: 'Request body too large', ru: 'Слишком большое тело запроса',
    when: 'The body is larger than TOKEND_BODY_LIMIT.' },
  unsupported_media_type: { status: 415, en: 'Unsupported content type', ru: 'Неподдерживаемый тип содержимого',
    when: 'The body has a content type tokend does not read.' },
  request_timeout: { status: 408, en: 'Request timeout', ru: 'Время ожидания запроса истекло',
    when: 'The request (headers and body) did not arrive within TOKEND_REQUEST_TIMEOUT, or its headers within TOKEND_HEADERS_TIMEOUT; the connection is closed.' },
  headers_too_large: { status: 431, en: 'Request headers too large', ru: 'Слишком большие заголовки запроса',
    when: 'The headers are larger than TOKEND_MAX_HEADER_SIZE.' },
  service_unavailable: { status: 503, en: 'Service temporarily unavailable', ru: 'Сервис временно недоступен',
    when: 'The database cannot be reached, or a statement ran past TOKEND_DATABASE_STATEMENT_TIMEOUT (a row held by a node that stalled mid-transaction). `Retry-After` is set.' },
  internal_error: { status: 500, en: 'Internal error', ru: 'Внутренняя ошибка',
    when: 'A bug in tokend; never expected. Logged with a request id, no details in the body.' },
} as const satisfies Record<string, ErrorCodeSpec>;

export type InvoiceboxCode = keyof typeof INVOICEBOX_CODES;
