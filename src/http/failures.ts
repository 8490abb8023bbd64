/**
 * Failures every dialect must be able to express, whatever its envelope: the framework's
 * (bad body, wrong content type, too large), routing's, and the infrastructure's. FAILURES below
 * is their one table (status and messages); each dialect names them with its own codes
 * (`failureCodes`) and renders them in its own envelope; src/http/app.ts picks the dialect by path.
 */
import { StoreUnavailableError } from '../core/errors.ts';
import type { ErrorCodeSpec, WireReply } from './dialect.ts';
import type { Lang } from './lang.ts';

export interface FieldError {
  name: string;
  code: string;
  message: string;
}

export type GenericFailure =
  | { kind: 'malformed_body' }
  | { kind: 'validation'; fields: FieldError[] }
  | { kind: 'payload_too_large' }
  | { kind: 'headers_too_large' }
  | { kind: 'request_timeout' }
  | { kind: 'unsupported_media_type' }
  | { kind: 'token_in_query' }
  | { kind: 'not_found' }
  | { kind: 'unavailable' }
  | { kind: 'internal' };

export type FailureKind = GenericFailure['kind'];

/**
 * Every framework failure, on every surface: status, messages, when it happens, and the code most
 * surfaces call it by. docs/errors.md says, per dialect, what each one means there.
 */
export const FAILURES = {
  malformed_body: { code: 'bad_request', status: 400, en: 'Malformed request body', ru: 'Некорректное тело запроса', when: 'The request or its body cannot be parsed.' },
  validation: { code: 'validation_error', status: 400, en: 'Validation error', ru: 'Ошибка валидации', when: 'A field is missing, has the wrong type or shape, or is unknown; envelopes with `fields` list each one.' },
  payload_too_large: { code: 'payload_too_large', status: 413, en: 'Request body too large', ru: 'Слишком большое тело запроса', when: 'The body is larger than TOKEND_BODY_LIMIT.' },
  headers_too_large: { code: 'headers_too_large', status: 431, en: 'Request headers too large', ru: 'Слишком большие заголовки запроса', when: 'The headers are larger than TOKEND_MAX_HEADER_SIZE.' },
  request_timeout: { code: 'request_timeout', status: 408, en: 'Request timeout', ru: 'Время ожидания запроса истекло', when: 'The request (headers and body) did not arrive within TOKEND_REQUEST_TIMEOUT, or its headers within TOKEND_HEADERS_TIMEOUT; the connection is closed.' },
  unsupported_media_type: { code: 'unsupported_media_type', status: 415, en: 'Unsupported content type', ru: 'Неподдерживаемый тип содержимого', when: 'The body has a content type the route does not read.' },
  token_in_query: { code: 'token_in_query', status: 400, en: 'Credentials must not be sent in the URL', ru: 'Учётные данные нельзя передавать в URL', when: 'The query string carries a token, key or password.' },
  not_found: { code: 'not_found', status: 404, en: 'Not found', ru: 'Не найдено', when: 'No such route.' },
  unavailable: { code: 'service_unavailable', status: 503, en: 'Service temporarily unavailable', ru: 'Сервис временно недоступен', when: 'The database cannot be reached, or a statement ran past TOKEND_DATABASE_STATEMENT_TIMEOUT. `Retry-After` is set.' },
  internal: { code: 'internal_error', status: 500, en: 'Internal error', ru: 'Внутренняя ошибка', when: 'A bug in tokend; never expected. Logged with a request id, no details in the body.' },
} as const satisfies Record<FailureKind, ErrorCodeSpec & { code: string }>;

/** A code of a surface that renders a framework failure. */
export interface FailureCodeSpec<K extends FailureKind = FailureKind> extends ErrorCodeSpec {
  readonly kind: K;
}

/**
 * How a surface departs from FAILURES for one failure: another code name, and the words its
 * clients have always read where they differ (the wire of a compatible dialect never changes).
 */
export interface FailureNaming {
  code?: string;
  en?: string;
  ru?: string;
  when?: string;
}

type CodeOf<K extends FailureKind, N> = N extends { code: infer C extends string } ? C : (typeof FAILURES)[K]['code'];

/** The entries of a surface's code table for the framework failures, under its code names. */
export type FailureCodes<O extends Partial<Record<FailureKind, FailureNaming>>> = {
  [K in FailureKind as CodeOf<K, O[K]>]: FailureCodeSpec<K>;
};

export function failureCodes<const O extends Partial<Record<FailureKind, FailureNaming>>>(naming: O): FailureCodes<O> {
  const codes: Record<string, FailureCodeSpec> = {};
  for (const kind of Object.keys(FAILURES) as FailureKind[]) {
    const { code: defaultCode, ...spec } = FAILURES[kind];
    const { code = defaultCode, ...words } = naming[kind] ?? {};
    codes[code] = { ...spec, ...words, kind };
  }
  return codes as FailureCodes<O>;
}

type KindsIn<T> = { [C in keyof T]: T[C] extends { kind: infer K extends FailureKind } ? K : never }[keyof T];

/**
 * Which code of a table renders each framework failure. A table that leaves a kind without a code
 * does not compile; one that gives a kind two codes fails at startup.
 */
export function failureNames<T extends Record<string, ErrorCodeSpec>>(
  codes: T & ([FailureKind] extends [KindsIn<T>] ? unknown : { missingFailures: Exclude<FailureKind, KindsIn<T>> }),
): Record<FailureKind, keyof T & string> {
  const names: Partial<Record<FailureKind, keyof T & string>> = {};
  for (const [code, spec] of Object.entries(codes) as [keyof T & string, Partial<FailureCodeSpec>][]) {
    if (spec.kind === undefined) continue;
    if (names[spec.kind] !== undefined) throw new Error(`framework failure ${spec.kind} has two codes: ${names[spec.kind]} and ${code}`);
    names[spec.kind] = code;
  }
  return names as Record<FailureKind, keyof T & string>;
}

/** What an envelope adds to a failure's code and message: the fields to blame, when to retry. */
export interface FailureExtra {
  fields?: FieldError[];
  retryAfterSeconds?: number;
}

export function failureExtra(failure: GenericFailure, retryAfterSeconds: number | undefined): FailureExtra {
  return {
    ...(failure.kind === 'validation' ? { fields: failure.fields } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  };
}

/**
 * A dialect's constant refusals (an error code in a language, without fields or Retry-After),
 * each rendered on first use and then kept, frozen: a refused check builds no envelope.
 */
export function keptReplies<C>(render: (code: C, lang: Lang) => WireReply): (code: C, lang: Lang) => WireReply {
  const kept: Record<Lang, Map<C, WireReply>> = { en: new Map(), ru: new Map() };
  return (code, lang) => {
    const byCode = kept[lang];
    let reply = byCode.get(code);
    if (reply === undefined) byCode.set(code, (reply = frozen(render(code, lang))));
    return reply;
  };
}

/**
 * A reply kept and sent again, frozen with its body and headers: whoever would change it (add a
 * header) must copy it, as withPolicyHeaders does.
 */
function frozen(reply: WireReply): WireReply {
  deepFreeze(reply.body);
  if (reply.headers) Object.freeze(reply.headers);
  return Object.freeze(reply);
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  for (const v of Object.values(value)) deepFreeze(v);
  Object.freeze(value);
}

/** `Retry-After` (seconds), on the 429s and 503s of every surface. */
export function retryHeaders(extra: { retryAfterSeconds?: number | undefined }): Record<string, string> {
  return extra.retryAfterSeconds !== undefined ? { 'retry-after': String(extra.retryAfterSeconds) } : {};
}

interface AjvLikeError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

function fieldName(e: AjvLikeError, context: string | undefined): string {
  if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') return e.params.missingProperty;
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  // An unknown field is named itself, not the object around it.
  if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') {
    return path ? `${path}.${e.params.additionalProperty}` : e.params.additionalProperty;
  }
  return path || context || 'body';
}

/** Classifies anything Fastify can throw before or around a handler. */
export function classifyError(error: unknown): GenericFailure {
  if (error instanceof StoreUnavailableError) return { kind: 'unavailable' };
  const e = error as { code?: string; statusCode?: number; validation?: AjvLikeError[]; validationContext?: string };
  if (Array.isArray(e.validation)) {
    const seen = new Set<string>();
    const fields: FieldError[] = [];
    for (const v of e.validation) {
      const name = fieldName(v, e.validationContext);
      if (seen.has(name)) continue;
      seen.add(name);
      fields.push({ name, code: v.keyword === 'required' ? 'required' : v.keyword, message: describe(v) });
    }
    return { kind: 'validation', fields };
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { kind: 'payload_too_large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? { kind: 'unsupported_media_type' } : { kind: 'malformed_body' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return { kind: 'malformed_body' };
    // @fastify/static refuses a path it will not resolve (`/docs/static/index.html//`, traversal):
    // to the client that is a file that does not exist, not a server fault.
    case 'FST_STATIC_FORBIDDEN_PATH':
      return { kind: 'not_found' };
  }
  if (error instanceof SyntaxError || e.statusCode === 400) return { kind: 'malformed_body' };
  if (e.statusCode === 413) return { kind: 'payload_too_large' };
  if (e.statusCode === 415) return { kind: 'unsupported_media_type' };
  return { kind: 'internal' };
}

function describe(v: AjvLikeError): string {
  switch (v.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known field';
    case 'type':
      return `must be a ${String(v.params.type)}`;
    case 'maxLength':
      return `must be at most ${String(v.params.limit)} characters long`;
    case 'minLength':
      return `must be at least ${String(v.params.limit)} characters long`;
    default:
      return v.message ?? 'is invalid';
  }
}

const CREDENTIAL_PARAM = /token|refresh|secret|password|passwd|authori[sz]ation|access[-_]?key|api[-_]?key|bearer/i;
const CREDENTIAL_VALUE = [
  /^td[a-z]_[0-9A-Za-z]{20,}$/, // native tokens
  /^[0-9a-f]{32}$/i, // v3 API tokens
  /^\d+-API:[0-9a-f]{32}$/i, // l3 API tokens
  /^(Bearer\s+)?eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*$/, // JWTs
];

/**
 * True when a query string carries something that looks like a credential. tokend never takes a
 * secret from a URL (URLs end up in proxy logs and browser history): such requests get 400.
 */
export function queryCarriesCredential(query: unknown): boolean {
  if (typeof query !== 'object' || query === null) return false;
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    if (CREDENTIAL_PARAM.test(key)) return true;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v === 'string' && CREDENTIAL_VALUE.some((re) => re.test(v.trim()))) return true;
    }
  }
  return false;
}

/**
 * The first field of a parsed body, query string or path that holds a NUL character (U+0000), as
 * a dotted path (`email`, `labels.0`), or null. PostgreSQL text cannot store NUL (SQLite can), so
 * such input would fail on one database and not the other: it is refused at the wire, as a
 * validation error, on both. Iterative, so that a body nested thousands deep costs no stack.
 */
export function nulField(value: unknown): string | null {
  // Linear in the size of the input, which the body limit already bounds.
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return path || 'body';
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    for (const [k, child] of Object.entries(v)) {
      const at = path ? `${path}.${k}` : k;
      if (k.includes('\u0000')) return at;
      stack.push([child, at]);
    }
  }
  return null;
}
