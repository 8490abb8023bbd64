/**
 * `GET /metrics`: the Prometheus exposition (src/observability/metrics.ts). Readable without a
 * credential only from loopback (the client address after TOKEND_TRUSTED_PROXIES, so a request
 * relayed by a proxy on the same machine is judged by its real client); from anywhere else only
 * with `Authorization: Bearer <TOKEND_METRICS_TOKEN>`, and without that setting it answers 404 as
 * if it did not exist. The token is compared as a SHA-256 digest, in constant time; a wrong one
 * counts towards the per-address limit on wrong credentials (src/core/limits.ts, CredentialGuard).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/schema.ts';
import type { CredentialGuard } from '../../core/limits.ts';
import type { TokendMetrics } from '../../observability/metrics.ts';
import { clientAddress, sendWire } from '../dialect.ts';
import { guardRefusal, nativeError } from '../native/envelope.ts';
import { nativeErrorSchema } from '../native/schemas.ts';

const metricsSchema = {
  tags: ['ops'],
  summary: 'Prometheus metrics (text format); loopback, or a bearer token',
  description:
    'Requests by dialect, route, method and status; token checks; issuances, refreshes and reuse detections; limit refusals; ' +
    'verification-cache hits and misses; store latency, group-commit batches, PostgreSQL pool and notification lag; process metrics. ' +
    'Without credentials only from loopback; elsewhere with `Authorization: Bearer <TOKEND_METRICS_TOKEN>`.',
  response: {
    200: { description: 'The Prometheus text exposition format (version 0.0.4).', content: { 'text/plain': { schema: { type: 'string' } } } },
    401: nativeErrorSchema(['invalid_token'], 'Not on loopback, and the bearer token is missing or wrong (TOKEND_METRICS_TOKEN is set).'),
    404: nativeErrorSchema(['not_found'], 'Not on loopback, and TOKEND_METRICS_TOKEN is not set.'),
    429: {
      ...nativeErrorSchema(['too_many_attempts'], 'Too many wrong credentials from this address at the credential endpoints (TOKEND_CREDENTIAL_MAX_FAILURES).'),
      headers: { 'retry-after': { type: 'integer', description: 'Seconds before trying again.' } },
    },
  },
};

/** 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6. */
export function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The per-address limit on wrong credentials every credential endpoint shares (src/core/limits.ts). */
export type MetricsGuard = Pick<CredentialGuard, 'check'>;

export async function registerMetrics(app: FastifyInstance, config: Config, metrics: TokendMetrics, guard: MetricsGuard): Promise<void> {
  const expected = config.metricsToken ? digest(config.metricsToken) : null;
  const challenge = { 'www-authenticate': 'Bearer realm="tokend-metrics"' };
  app.get('/metrics', { schema: metricsSchema }, async (request, reply) => {
    const address = clientAddress(request);
    if (!isLoopback(address)) {
      if (!expected) return sendWire(reply, nativeError('not_found'));
      const header = request.headers.authorization;
      const given = typeof header === 'string' && /^Bearer /i.test(header) ? header.slice(7).trim() : '';
      // A wrong token counts towards the shared limit; no token at all is not a guess.
      const checked = await guard.check(address, () => (given && timingSafeEqual(digest(given), expected) ? true : null), header !== undefined);
      if (!checked.ok) {
        const unauthorized = nativeError('invalid_token');
        return sendWire(reply, guardRefusal(checked.retryAfterSeconds, { ...unauthorized, headers: { ...unauthorized.headers, ...challenge } }));
      }
    }
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}

/**
 * Counts one answered request: its surface (the dialect owning its path, else `native`), its
 * route's pattern (`unmatched` for a 404 without a route: a URL a client chose is never a label),
 * method, status and time in seconds. The surface of each pattern is worked out once. Fastify's
 * requests are counted by `requestObserver`, the check lane's (src/http/check-lane.ts) directly.
 */
export function requestCounter(
  metrics: TokendMetrics,
  surfaces: readonly { name: string; prefixes: readonly string[] }[],
): (route: string, method: string, status: number, seconds: number) => void {
  const surfaceOf = new Map<string, string>();
  return (route, method, status, seconds) => {
    let surface = surfaceOf.get(route);
    if (surface === undefined) {
      surface = route === 'unmatched' ? 'none' : (surfaces.find((s) => s.prefixes.some((p) => route.startsWith(p)))?.name ?? 'native');
      surfaceOf.set(route, surface);
    }
    metrics.httpRequest(surface, route, method, status, seconds);
  };
}

/** `requestCounter` for a request Fastify answered (its onResponse hook). */
export function requestObserver(count: ReturnType<typeof requestCounter>): (request: FastifyRequest, reply: FastifyReply) => void {
  return (request, reply) => count(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
}
