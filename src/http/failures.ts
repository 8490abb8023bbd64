/**
 * Failures every dialect must be able to express, whatever its envelope: the framework's
 * (bad body, wrong content type, too large), routing's, and the infrastructure's. Each dialect
 * maps these to its own code in its own envelope; src/http/app.ts picks the dialect by path.
 */
import { StoreUnavailableError } from '../core/errors.ts';

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

interface AjvLikeError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

function fieldName(e: AjvLikeError, context: string | undefined): string {
  if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') return e.params.missingProperty;
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
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
