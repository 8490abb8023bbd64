/**
 * Who is calling the admin API, and may they (docs/admin-api.md, "Authentication"). One hook on
 * every `/api/admin/…` route, run on the headers alone (onRequest), before any body is read:
 *
 * 1. An address past the limit on wrong credentials (CredentialGuard, shared with introspection,
 *    revocation and `/metrics`) gets 429 `too_many_attempts`, whatever it sends.
 * 2. `Authorization: Bearer` with the admin token, or with an operator key (`tdp_…`); a wrong one
 *    counts towards that limit and gets 401 `unauthenticated` (429 once the limit is reached).
 *    Without an Authorization header, the operator console's sign-in cookie (+ CSRF token).
 * 3. The route's declared permission (`config.permission`, src/http/native/admin/access.ts): an
 *    operator key without it gets 403 `permission_denied`, before the handler runs, so nothing
 *    changes. `'admin'` routes take the admin token or the console only.
 *
 * Every admin route must declare its permission: registering one without it fails at start
 * (`checkAdminRoute`), so a forgotten declaration can never mean "open to every key".
 */
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { OperatorKey } from '../../../core/model.ts';
import type { Core } from '../../../core/tokend.ts';
import { isNativeToken } from '../../../secrets/tokens.ts';
import { clientAddress, sendWire } from '../../dialect.ts';
import { headerValue } from '../../lang.ts';
import { OPERATOR_COOKIE, requireConsoleSession, setActor } from '../console-auth.ts';
import { errorResponses } from '../console-responses.ts';
import { guardRefusal, nativeError, type NativeCode } from '../envelope.ts';
import { allows, type RouteAccess } from './access.ts';

/** Who made an admin call. */
export type Operator = { kind: 'admin' } | { kind: 'console' } | { kind: 'operator_key'; key: OperatorKey };

const OPERATORS = new WeakMap<FastifyRequest, Operator>();

/** The operator behind an admin request that passed the hook. */
export function operatorOf(request: FastifyRequest): Operator {
  const operator = OPERATORS.get(request);
  if (!operator) throw new Error('admin route reached without an authenticated operator');
  return operator;
}

/** What per-credential state (`Idempotency-Key`) is kept under: the admin token and console share one. */
export function credentialId(operator: Operator): string {
  return operator.kind === 'operator_key' ? `key:${operator.key.id}` : 'admin';
}

export function isAdminPath(url: string): boolean {
  return url === '/api/admin' || url.startsWith('/api/admin/');
}

const BEARER_RE = /^Bearer\s+(\S{1,4096})$/i;

/** The onRequest hook of the admin API's authenticated routes. */
export function operatorOnly(core: Core): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  const cookieSession = requireConsoleSession(core, 'operator', OPERATOR_COOKIE);
  const guard = core.credentialGuard;

  return async function operatorAuth(request, reply) {
    const access = request.routeOptions.config.permission;
    // Registration refuses such a route (checkAdminRoute); this is the belt to those braces.
    if (access === undefined) return sendWire(reply, nativeError('permission_denied'));
    const address = clientAddress(request);
    const authorization = headerValue(request.headers.authorization);
    let operator: Operator;
    if (authorization === undefined) {
      // The sign-in cookie is no guess, but a blocked address is refused on every path.
      const blocked = await guard.blockedFor(address);
      if (blocked !== null) return sendWire(reply, nativeError('too_many_attempts', { retryAfterSeconds: blocked }));
      const refused = await cookieSession(request, reply);
      if (refused) return refused;
      operator = { kind: 'console' };
    } else {
      const found = await guard.check(address, () => bearerOperator(core, authorization.trim()));
      if (!found.ok) return sendWire(reply, guardRefusal(found.retryAfterSeconds, nativeError('unauthenticated')));
      operator = found.value;
    }
    if (!permitted(operator, access)) return sendWire(reply, nativeError('permission_denied'));
    OPERATORS.set(request, operator);
    setActor(request, operator.kind === 'operator_key' ? `operator_key:${operator.key.id}` : operator.kind);
    return undefined;
  };
}

async function bearerOperator(core: Core, authorization: string): Promise<Operator | null> {
  const m = BEARER_RE.exec(authorization);
  if (!m) return null;
  const token = m[1]!;
  if (isNativeToken(token, 'operatorKey')) {
    const checked = await core.operatorKeys.verify(token);
    return checked.ok ? { kind: 'operator_key', key: checked.key } : null;
  }
  return (await core.callers.verifyAdminToken(token)) ? { kind: 'admin' } : null;
}

function permitted(operator: Operator, access: RouteAccess): boolean {
  if (operator.kind !== 'operator_key' || access === 'any') return true;
  if (access === 'admin') return false;
  return allows(operator.key.permissions, access);
}

const SECURITY: { [scheme: string]: string[] }[] = [{ bearer: [] }, { operatorConsole: [], csrf: [] }];

/**
 * The onRoute hook of the admin API's authenticated scope: refuses a route without a declared
 * permission, and documents on each what the hook may answer (401, 403, 429; 409 for idempotent
 * routes), its security schemes and the permission it needs, so /openapi.json says it all.
 */
export function checkAdminRoute(route: RouteOptions): void {
  if (!isAdminPath(route.url)) return;
  const access = route.config?.permission;
  if (access === undefined) {
    throw new Error(`admin route ${route.method} ${route.url} declares no permission (config.permission, src/http/native/admin/access.ts)`);
  }
  const schema = (route.schema ?? {}) as Record<string, unknown>;
  const codes: NativeCode[] = ['unauthenticated', 'permission_denied', 'too_many_attempts'];
  if (route.config?.idempotent) codes.push('idempotency_conflict', 'idempotency_in_progress');
  const responses = { ...(schema.response as Record<string, unknown> | undefined) };
  for (const [status, extra] of Object.entries(errorResponses(codes))) {
    const existing = responses[status] as { description?: string } | undefined;
    if (!existing) responses[status] = extra;
    else if (typeof existing.description === 'string') {
      const wanted = codes.filter((c) => !existing.description!.includes(`\`${c}\``) && String(extra.description ?? '').includes(`\`${c}\``));
      if (wanted.length > 0) responses[status] = { ...existing, description: `${existing.description} Also: ${wanted.map((c) => `\`${c}\``).join(', ')}.` };
    }
  }
  const needs =
    access === 'admin'
      ? 'Only the admin token (or the operator console): never an operator key.'
      : access === 'any'
        ? 'Any operator credential.'
        : `Operator keys need \`${access}\` (\`write\` includes \`read\`).`;
  const description = typeof schema.description === 'string' ? `${schema.description}\n\n${needs}` : needs;
  route.schema = { ...schema, response: responses, security: SECURITY, description } as RouteOptions['schema'];
}
