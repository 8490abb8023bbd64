/**
 * Protecting an API with a {@link Verifier}: a Fastify plugin and an Express-style
 * `(req, res, next)` middleware. Neither framework is a dependency: both are typed structurally.
 *
 * The token is read from `Authorization` (`Bearer <t>`, or raw as ChatApp clients send it) or from
 * `Access-Token` (hoster.by clients). A rejected token gets 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750), a missing scope 403
 * `insufficient_scope`, an unreachable tokend 503; the reason is never told to the caller.
 *
 * @example
 * ```ts
 * // Fastify: only routes registered in this scope are protected.
 * app.register(async (api) => {
 *   await api.register(tokendFastify, { verifier, scopes: ['orders_read'] });
 *   api.get('/orders', async (request) => ({ user: tokenOf(request).sub }));
 * });
 * // Express
 * app.get('/orders', tokendExpress({ verifier }), (req, res) => res.json({ user: tokenOf(req).sub }));
 * ```
 */
import type { ActiveToken, InactiveToken, VerifyResult } from './result.ts';
import type { Verifier } from './verifier.ts';

type Headers = Record<string, string | string[] | undefined>;

export interface ProtectOptions {
  verifier: Verifier;
  /** Every one of these must be in the token's scope. */
  scopes?: string[];
  /** Called for each refusal (metrics, audit); the token is not passed. */
  onReject?: (result: InactiveToken) => void;
}

function single(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}

/** The token of a request: `Authorization` (Bearer or raw) first, then `Access-Token`. */
export function extractToken(headers: Headers): string | null {
  const authorization = single(headers['authorization'])?.trim();
  if (authorization) {
    const bearer = /^bearer\s+(.+)$/i.exec(authorization);
    return (bearer ? bearer[1]! : authorization).trim() || null;
  }
  return single(headers['access-token'])?.trim() || null;
}

interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string } };
}

function refusalOf(result: InactiveToken): Refusal {
  if (result.reason === 'unavailable') {
    return { status: 503, headers: { 'retry-after': '5' }, body: { error: { code: 'service_unavailable', message: 'Token verification is unavailable' } } };
  }
  if (result.reason === 'insufficient_scope') {
    return {
      status: 403,
      headers: { 'www-authenticate': 'Bearer error="insufficient_scope"' },
      body: { error: { code: 'forbidden', message: 'Forbidden' } },
    };
  }
  const header = result.reason === 'missing' ? 'Bearer' : 'Bearer error="invalid_token"';
  return { status: 401, headers: { 'www-authenticate': header }, body: { error: { code: 'unauthorized', message: 'Unauthorized' } } };
}

/** Verifies the request's token and checks the scopes: the shared step of both adapters. */
export async function authenticate(headers: Headers, options: ProtectOptions): Promise<VerifyResult> {
  const result = await options.verifier.verify(extractToken(headers));
  if (!result.active) return result;
  const missing = (options.scopes ?? []).filter((s) => !result.scope.includes(s));
  return missing.length ? { active: false, reason: 'insufficient_scope', detail: missing.join(' ') } : result;
}

const TOKEN = Symbol.for('tokend.token');

/** The verified token a protected handler runs with. Throws when the route is not protected. */
export function tokenOf(request: object): ActiveToken {
  const token = (request as { [TOKEN]?: ActiveToken })[TOKEN];
  if (!token) throw new Error('tokenOf: this request did not pass tokendFastify/tokendExpress');
  return token;
}

function attach(request: object, token: ActiveToken): void {
  Object.defineProperty(request, TOKEN, { value: token, enumerable: false, configurable: true });
}

interface FastifyRequestLike {
  headers: Headers;
}
interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(body: unknown): FastifyReplyLike;
}
interface FastifyLike {
  addHook(name: 'onRequest', hook: (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>): unknown;
}

/**
 * Fastify plugin: protects every route of the scope it is registered in (it does not create a
 * scope of its own, like a plugin wrapped in fastify-plugin), so register it inside the
 * encapsulated plugin that holds the protected routes.
 */
export async function tokendFastify(app: FastifyLike, options: ProtectOptions): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    const result = await authenticate(request.headers, options);
    if (result.active) {
      attach(request, result);
      return;
    }
    options.onReject?.(result);
    const refusal = refusalOf(result);
    return reply.code(refusal.status).headers(refusal.headers).send(refusal.body);
  });
}
// Fastify's own marker (what fastify-plugin sets): run in the caller's scope, not a child scope.
Object.assign(tokendFastify, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'tokend-auth' });

interface ExpressRequestLike {
  headers: Headers;
}
interface ExpressResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
}

/** Express-style middleware (Express, Connect, plain `node:http` with a tiny router). */
export function tokendExpress(options: ProtectOptions): (req: ExpressRequestLike, res: ExpressResponseLike, next: (error?: unknown) => void) => void {
  return (req, res, next) => {
    authenticate(req.headers, options).then(
      (result) => {
        if (result.active) {
          attach(req, result);
          next();
          return;
        }
        options.onReject?.(result);
        const refusal = refusalOf(result);
        res.statusCode = refusal.status;
        for (const [name, value] of Object.entries({ ...refusal.headers, 'content-type': 'application/json; charset=utf-8' })) res.setHeader(name, value);
        res.end(JSON.stringify(refusal.body));
      },
      (error: unknown) => next(error),
    );
  };
}
