/**
 * The responses of a cabinet or admin route by status: its success schema (src/http/native/
 * console-schemas.ts) and the native error envelope for each code it can send.
 */
import type { TSchema } from '@sinclair/typebox';
import { NATIVE_CODES, type NativeCode } from './envelope.ts';
import { nativeErrorSchema } from './schemas.ts';

const retryAfter = { 'retry-after': { type: 'integer', description: 'Seconds before trying again.' } };

const ERROR_TEXT: Partial<Record<NativeCode, string>> = {
  bad_request: 'The body is not valid JSON.',
  validation_failed: 'A field is missing, has the wrong type or is unknown; `error.fields` names each one.',
  token_in_query: 'A credential in the URL.',
  unauthenticated: 'No sign-in (or it ended), or a wrong admin token.',
  invalid_credentials: 'Wrong email and password (or admin token): the same answer for both.',
  csrf_failed: 'A state change without the right `X-CSRF-Token`, or from another Origin.',
  account_disabled: 'The account is disabled.',
  not_found: 'No such record of the signed-in account.',
  not_active: 'Already revoked, replaced or expired.',
  unsupported_media_type: 'The body is not JSON.',
  payload_too_large: 'The body is too large.',
  too_many_attempts: 'Too many failed attempts (or wrong credentials from this address).',
  permission_denied: 'The operator key lacks the permission this route needs; nothing changed.',
  idempotency_conflict: 'The `Idempotency-Key` was used with another request.',
  idempotency_in_progress: 'The first request with this `Idempotency-Key` is still running.',
  email_taken: 'Another account has this email.',
  invalid_reset_token: 'The reset link is invalid, used or expired.',
  internal_error: 'A bug in tokend.',
  service_unavailable: 'The database cannot be reached.',
};

/** The error responses of a route, by status, from the codes it can send (without the ones every route may send). */
export function errorResponses(codes: readonly NativeCode[]): Record<number, TSchema> {
  const byStatus = new Map<number, NativeCode[]>();
  for (const code of codes) {
    const status = NATIVE_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<number, TSchema> = {};
  for (const [status, list] of byStatus) {
    const schema = nativeErrorSchema(list, list.map((c) => ERROR_TEXT[c] ?? c).join(' '));
    out[status] = status === 429 ? { ...schema, headers: retryAfter } : schema;
  }
  return out;
}

/** The error responses of a route, by status, from the codes it can send. */
function errorsFor(codes: readonly NativeCode[]): Record<number, TSchema> {
  const byStatus = new Map<number, NativeCode[]>();
  const all: NativeCode[] = [...codes, 'token_in_query', 'internal_error', 'service_unavailable'];
  for (const code of all) {
    const status = NATIVE_CODES[code].status;
    const list = byStatus.get(status) ?? [];
    if (!list.includes(code)) list.push(code);
    byStatus.set(status, list);
  }
  const out: Record<number, TSchema> = {};
  for (const [status, list] of byStatus) {
    const schema = nativeErrorSchema(list, list.map((c) => ERROR_TEXT[c] ?? c).join(' '));
    out[status] = status === 429 || status === 503 ? { ...schema, headers: retryAfter } : schema;
  }
  return out;
}

/** A signed-in GET. */
export function readResponses(ok: TSchema, extra: NativeCode[] = []): Record<number, TSchema> {
  return { 200: ok, ...errorsFor(['unauthenticated', 'validation_failed', ...extra]) };
}

/** A signed-in state change with a JSON body. */
export function writeResponses(status: 200 | 201, ok: TSchema, extra: NativeCode[] = []): Record<number, TSchema> {
  return {
    [status]: ok,
    ...errorsFor(['bad_request', 'validation_failed', 'unauthenticated', 'csrf_failed', 'payload_too_large', 'unsupported_media_type', ...extra]),
  };
}

/** A sign-in. */
export function signInResponses(ok: TSchema, extra: NativeCode[] = []): Record<number, TSchema> {
  return {
    200: ok,
    ...errorsFor(['bad_request', 'validation_failed', 'invalid_credentials', 'csrf_failed', 'payload_too_large', 'unsupported_media_type', 'too_many_attempts', ...extra]),
  };
}

