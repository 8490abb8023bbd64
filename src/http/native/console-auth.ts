/**
 * What the cabinet and admin APIs share: the sign-in cookie, CSRF and Origin checks, and the
 * mapping of core outcomes to native errors.
 *
 * - The cookie holds a random `tdc_…` token (storage keeps its SHA-256): HttpOnly (no script can
 *   read it), SameSite=Strict (no other site's page can make the browser send it), Secure when the
 *   request came over https (directly, or through a trusted proxy's X-Forwarded-Proto), and a Path
 *   that limits it to its own API.
 * - Every state change also needs `X-CSRF-Token` (derived from the cookie's secret, handed out by
 *   `/me`), compared in constant time, and an Origin, when the browser sends one, equal to ours.
 *   A form post from another site carries neither; JSON-only bodies keep it from trying.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleAuth, ConsoleContext, SignInFailure } from '../../core/console.ts';
import { InvalidInputError } from '../../core/errors.ts';
import type { ConsoleSessionKind } from '../../core/model.ts';
import type { Core } from '../../core/tokend.ts';
import { clientAddress, sendWire } from '../dialect.ts';
import { headerValue } from '../lang.ts';
import { nativeError, type NativeCode } from './envelope.ts';

export interface CookieSpec {
  name: string;
  path: string;
}

export const CABINET_COOKIE: CookieSpec = { name: 'tokend_cabinet', path: '/api/cabinet' };
export const OPERATOR_COOKIE: CookieSpec = { name: 'tokend_operator', path: '/api/admin' };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Authenticated {
  auth: ConsoleAuth;
  /** The cookie's token, to derive the CSRF token; never logged, never sent back. */
  token: string;
}

const AUTHENTICATED = new WeakMap<FastifyRequest, Authenticated>();

const ACTORS = new WeakMap<FastifyRequest, string>();

/** Names who acts on an admin request (the admin API's authentication hook sets it); audited as `by`. */
export function setActor(request: FastifyRequest, actor: string): void {
  ACTORS.set(request, actor);
}

export function consoleContext(request: FastifyRequest): ConsoleContext {
  const actor = ACTORS.get(request);
  return { address: clientAddress(request), userAgent: headerValue(request.headers['user-agent']) ?? null, ...(actor !== undefined ? { actor } : {}) };
}

/** https directly or behind a trusted proxy (Fastify reads X-Forwarded-Proto only with trustProxy). */
function isHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https';
}

export function setSessionCookie(reply: FastifyReply, request: FastifyRequest, spec: CookieSpec, token: string, maxAgeMs: number): void {
  reply.setCookie(spec.name, token, {
    path: spec.path,
    httpOnly: true,
    sameSite: 'strict',
    secure: isHttps(request),
    maxAge: Math.max(1, Math.floor(maxAgeMs / 1000)),
  });
}

export function clearSessionCookie(reply: FastifyReply, request: FastifyRequest, spec: CookieSpec): void {
  reply.clearCookie(spec.name, { path: spec.path, httpOnly: true, sameSite: 'strict', secure: isHttps(request) });
}

/**
 * True unless the browser says the request comes from another origin. Browsers send Origin on
 * every cross-origin request and on same-origin POST/PUT/DELETE; `Sec-Fetch-Site` backs it up.
 * Non-browser clients send neither and are judged by the CSRF token alone.
 */
export function fromOwnOrigin(request: FastifyRequest): boolean {
  const origin = headerValue(request.headers.origin);
  if (origin !== undefined) {
    // The host is compared, not the scheme: behind a proxy that terminates TLS, tokend sees http
    // while the browser says https. The proxy must pass the Host (or, with TOKEND_TRUST_PROXY,
    // X-Forwarded-Host) through; docs/console.md says so.
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return false; // 'null' (sandboxed frames, some redirects) and garbage
    }
    return host !== '' && normalizeHost(host) === normalizeHost(request.host);
  }
  const site = headerValue(request.headers['sec-fetch-site']);
  return site === undefined || site === 'same-origin' || site === 'none';
}

function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/:(80|443)$/, '');
}

export function requestCookie(request: FastifyRequest, spec: CookieSpec): string | undefined {
  return request.cookies[spec.name];
}

/**
 * preHandler for routes behind a console sign-in of `kind`: 401 without one; for state changes,
 * 403 without the right CSRF token or from a foreign Origin.
 */
export function requireConsoleSession(core: Core, kind: ConsoleSessionKind, spec: CookieSpec) {
  return async function consoleSession(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const token = requestCookie(request, spec);
    const auth = await core.console.authenticate(token, kind);
    if (!auth || token === undefined) return sendWire(reply, nativeError('unauthenticated'));
    if (!SAFE_METHODS.has(request.method) && !csrfOk(core, request, token)) return sendWire(reply, nativeError('csrf_failed'));
    AUTHENTICATED.set(request, { auth, token });
    return undefined;
  };
}

function csrfOk(core: Core, request: FastifyRequest, token: string): boolean {
  return fromOwnOrigin(request) && core.console.verifyCsrf(token, headerValue(request.headers['x-csrf-token']));
}

/** Marks a request authenticated by other means (the admin API's Bearer token). */
export function markAuthenticated(request: FastifyRequest, value: Authenticated | null): void {
  if (value) AUTHENTICATED.set(request, value);
}

/** The sign-in of a request that passed requireConsoleSession (or null for a Bearer-token admin call). */
export function authOf(request: FastifyRequest): Authenticated | null {
  return AUTHENTICATED.get(request) ?? null;
}

/** The signed-in account of a cabinet request. */
export function accountOf(request: FastifyRequest): { id: number; email: string } {
  const account = AUTHENTICATED.get(request)?.auth.account;
  if (!account) throw new Error('cabinet route reached without a signed-in account');
  return account;
}

export const SIGN_IN_FAILURES: Record<SignInFailure, NativeCode> = {
  invalid_credentials: 'invalid_credentials',
  too_many_attempts: 'too_many_attempts',
  account_disabled: 'account_disabled',
};

/** Core's InvalidInputError is the caller's mistake: a validation error naming the field. */
export function invalidInputReply(error: InvalidInputError): ReturnType<typeof nativeError> {
  return nativeError('validation_failed', { fields: [{ name: error.field, code: 'invalid', message: error.message }] });
}
