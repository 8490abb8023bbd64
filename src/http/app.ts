/**
 * buildApp(): the whole HTTP surface, built and never listening (tests use inject() or listen
 * themselves). One process serves every enabled dialect on one port (docs/architecture.md).
 */
// @fastify/swagger augments FastifySchema with tags, summary and examples used by every route.
import type {} from '@fastify/swagger';
import { randomUUID } from 'node:crypto';
import formbody from '@fastify/formbody';
import proxyAddr from '@fastify/proxy-addr';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions, type RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Core } from '../core/tokend.ts';
import { AccessLog, lazyChildLogger } from './access-log.ts';
import { CheckLane, type LaneLoggedRequest } from './check-lane.ts';
import { clientAddress, rawClientAddress, sendWire, type WireDialect, type WireReply } from './dialect.ts';
import { DIALECTS } from './dialects/index.ts';
import { classifyError, nulField, queryCarriesCredential, type GenericFailure } from './failures.ts';
import { pickLang, type Lang } from './lang.ts';
import { registerConsole } from './native/console.ts';
import { nativeFailure } from './native/envelope.ts';
import { registerJwks } from './native/jwks.ts';
import { registerForwardAuth } from './native/forward-auth.ts';
import { OAUTH_PREFIX, oauthFailure, registerOauth } from './native/oauth2.ts';
import { REQUEST_ID_HEADER, requestIdOf } from '../observability/request-id.ts';
import type { TokendMetrics } from '../observability/metrics.ts';
import type { Tracing } from '../observability/tracing.ts';
import { registerHealth } from './ops/health.ts';
import { registerMetrics, requestCounter, requestObserver } from './ops/metrics.ts';
import { registerOpenApi } from './ops/openapi.ts';
import { LazySchemas } from './lazy-schemas.ts';

export interface AppDeps {
  core: Core;
  logger: Logger;
  /** Prometheus metrics: `/metrics` and the per-request counts; none (`TOKEND_METRICS=false`) costs nothing. */
  metrics?: TokendMetrics | null;
  /** True once the node is shutting down: `/readyz` answers 503 and every answer closes its connection. */
  draining?: () => boolean;
  /** OpenTelemetry spans for every request (src/observability/tracing.ts); none by default. */
  tracing?: Tracing | null;
  /**
   * Called for every route as it is registered, with its options (method, url, schema). The fuzz
   * and security tests use it so that every route of every surface is covered without a list.
   */
  onRoute?: (route: RouteOptions) => void;
  /**
   * False: the checks that read only headers go through Fastify like every other request, instead
   * of the check lane (src/http/check-lane.ts). For the tests that hold the two paths to the same
   * answers.
   */
  checkLane?: boolean;
  /**
   * What Fastify compiles from the route schemas, shared between apps: a factory of response
   * serializers, and a hook on each Ajv instance Fastify makes for the validators (either way
   * compiled on first use). Default: each app compiles its own. The tests, which build hundreds of apps in one process, pass ones that
   * keep what they compiled (test/helpers/harness.ts).
   */
  schemaCache?: {
    buildSerializer: NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildSerializer'];
    onAjvCreate: NonNullable<NonNullable<FastifyServerOptions['ajv']>['onCreate']>;
  };
}

const nativeDialect = { prefixes: [] as string[], renderFailure: nativeFailure };
// RFC 7662/7009 endpoints answer failures in the RFC 6749 5.2 form OAuth libraries parse.
const oauthSurface = { prefixes: [OAUTH_PREFIX], renderFailure: oauthFailure };

/** Path without the query string: what logs see (a query string might carry a credential). */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** An answer written straight to a socket whose request never reached Fastify (or never finished). */
function writeRaw(socket: { writable: boolean; write(data: string): unknown }, wire: WireReply, status: string, requestId: string = randomUUID()): void {
  if (!socket.writable) return;
  // A dialect may render its body itself (hoster.by pretty-prints): strings go out as they are.
  const body = typeof wire.body === 'string' ? wire.body : JSON.stringify(wire.body);
  socket.write(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The deferred schema compilations of each app buildApp made (`compileAllSchemas`). */
const deferredSchemas = new WeakMap<FastifyInstance, LazySchemas>();

/**
 * Compiles every route schema the app has not compiled yet (they compile on first use) and says
 * how many there were: a schema that cannot compile throws here instead of on its first request.
 */
export function compileAllSchemas(app: FastifyInstance): number {
  const schemas = deferredSchemas.get(app);
  if (!schemas) return 0;
  const pending = schemas.pending;
  schemas.compileAll();
  return pending;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { core, logger } = deps;
  const config = core.config;
  // Route schemas compile on their first request (src/http/lazy-schemas.ts).
  const schemas = new LazySchemas(deps.schemaCache ?? {});
  const dialects: WireDialect[] = DIALECTS.filter((d) => d.enabled(config)).map((d) => d.dialect);

  function dialectFor(url: string): Pick<WireDialect, 'renderFailure'> {
    const path = pathOf(url);
    return dialects.find((d) => d.prefixes.some((p) => path.startsWith(p))) ?? (path.startsWith(OAUTH_PREFIX) ? oauthSurface : nativeDialect);
  }

  function failureReply(url: string, failure: GenericFailure, lang: Lang): WireReply {
    return dialectFor(url).renderFailure(failure, lang, failure.kind === 'unavailable' ? 5 : undefined);
  }

  /**
   * The request each socket is reading (its URL and id), for errors raised in the middle of its
   * body: the request itself, so that noting it allocates nothing.
   */
  const inFlight = new WeakMap<object, Pick<FastifyRequest, 'url' | 'id'>>();
  const app = Fastify({
    loggerInstance: logger.child({}, {
      serializers: {
        // Whitelist, not blacklist: no headers (they carry tokens), no query string.
        // A request the check lane answered carries its client address already (src/http/check-lane.ts).
        req: (req: FastifyRequest | LaneLoggedRequest) =>
          'address' in req ? { method: req.method, path: pathOf(req.url), address: req.address } : { method: req.method, path: pathOf(req.url), address: clientAddress(req) },
        res: (res: { statusCode: number }) => ({ status: res.statusCode }),
      },
    }) as unknown as FastifyInstance['log'],
    // One access-log line per request, at info only for failures, and a request's child logger
    // made only if it writes (src/http/access-log.ts).
    logController: new AccessLog(),
    childLoggerFactory: lazyChildLogger,
    // Every response echoes the request id and every log line of the request carries it (`reqId`).
    genReqId: requestIdOf,
    requestIdHeader: false,
    bodyLimit: config.bodyLimit,
    // Only the configured proxies' X-Forwarded-* headers count (src/http/dialect.ts, clientAddress).
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    // Slow clients are cut off (docs/configuration.md): Node checks the header and request bounds
    // on an interval, once a second here rather than its default of every 30 s.
    requestTimeout: config.requestTimeout,
    keepAliveTimeout: config.keepAliveTimeout,
    http: {
      maxHeaderSize: config.maxHeaderSize,
      headersTimeout: config.headersTimeout,
      requestTimeout: config.requestTimeout,
      keepAliveTimeout: config.keepAliveTimeout,
      connectionsCheckingInterval: 1000,
    },
    return503OnClosing: true,
    // A path that cannot be percent-decoded (`/v1/%ff`) or whose parameter is over 100 characters
    // fails before routing and before any hook: without this, Fastify answers in its own shape,
    // without no-store, and echoes the whole URL (query string included, which may carry a
    // credential). Such a path names no route and no record: a 404 in the surface's envelope.
    frameworkErrors(error, request, reply) {
      const unroutable = error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const failure: GenericFailure = unroutable ? { kind: 'not_found' } : classifyError(error);
      reply.header('cache-control', 'no-store');
      reply.header(REQUEST_ID_HEADER, request.id);
      return sendWire(reply, failureReply(request.url, failure, pickLang(request.headers)));
    },
    ajv: { customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false }, onCreate: schemas.onAjvCreate },
    schemaController: { compilersFactory: { buildSerializer: schemas.buildSerializer } },
    // Requests that never parse (oversized headers, garbage) still get the dialect's envelope.
    clientErrorHandler(err, socket) {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      // Past TOKEND_HEADERS_TIMEOUT or TOKEND_REQUEST_TIMEOUT: a 408 unless an answer has begun.
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        const answering = (socket as unknown as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
        const current = inFlight.get(socket);
        if (!answering) writeRaw(socket, failureReply(current?.url ?? '/', { kind: 'request_timeout' }, 'en'), '408 Request Timeout', current?.id);
        socket.destroy();
        return;
      }
      const raw = (err as unknown as { rawPacket?: Buffer }).rawPacket;
      const firstLine = raw?.subarray(0, 2048).toString('latin1').split('\r\n')[0] ?? '';
      // The packet that failed is not always the request line (a body cut short fails on its last
      // packet): then the request this socket is in the middle of names the surface.
      const requestLine = /^[A-Z]+ (\/\S*)/.exec(firstLine);
      const current = inFlight.get(socket);
      const url = requestLine ? requestLine[1]! : (current?.url ?? '/');
      const kind = err.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'malformed_body';
      const status = kind === 'headers_too_large' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      writeRaw(socket, failureReply(url, { kind }, 'en'), status, requestLine ? undefined : current?.id);
      socket.destroy();
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Before any route exists, so that it sees all of them (hooks on the root reach every plugin).
  if (deps.onRoute) {
    const onRoute = deps.onRoute;
    app.addHook('onRoute', (route) => onRoute(route as unknown as RouteOptions));
  }
  // Also before any route: the OpenAPI document is built from every route registered after it.
  await registerOpenApi(app);
  await app.register(formbody);

  // Hooks run on every request: callback style, not async, so the hot path allocates no promise per hook.
  // The request's span first, so that everything after runs inside it; its end last.
  if (deps.tracing) app.addHook('onRequest', deps.tracing.onRequest);
  app.addHook('onRequest', (request, reply, done) => {
    inFlight.set(request.raw.socket, request);
    if (request.url.includes('?') && queryCarriesCredential(request.query)) {
      sendWire(reply, failureReply(request.url, { kind: 'token_in_query' }, pickLang(request.headers)));
      return;
    }
    done();
  });
  const countRequest = deps.metrics ? requestCounter(deps.metrics, dialects) : null;
  const observe = countRequest ? requestObserver(countRequest) : null;
  app.addHook('onResponse', (request, reply, done) => {
    inFlight.delete(request.raw.socket);
    observe?.(request, reply);
    done();
  });
  if (deps.tracing) app.addHook('onResponse', deps.tracing.onResponse);
  // After parsing, before the schemas: a NUL character anywhere in the input is a validation error
  // on every surface and both databases (PostgreSQL would refuse to store or even compare it).
  app.addHook('preValidation', (request, reply, done) => {
    const field = nulField(request.body) ?? nulField(request.query) ?? nulField(request.params);
    if (field === null) {
      done();
      return;
    }
    const failure: GenericFailure = { kind: 'validation', fields: [{ name: field, code: 'pattern', message: 'must not contain NUL characters' }] };
    sendWire(reply, failureReply(request.url, failure, pickLang(request.headers)));
  });
  const draining = deps.draining ?? ((): boolean => false);
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    reply.header(REQUEST_ID_HEADER, request.id);
    // While draining, clients open new connections (to other nodes) instead of reusing this one.
    if (draining()) reply.header('connection', 'close');
    done(null, payload);
  });

  app.setNotFoundHandler((request, reply) => sendWire(reply, failureReply(request.url, { kind: 'not_found' }, pickLang(request.headers))));
  app.setErrorHandler((error, request, reply) => {
    const failure = classifyError(error);
    if (failure.kind === 'internal') request.log.error({ err: error }, 'unhandled error');
    return sendWire(reply, failureReply(request.url, failure, pickLang(request.headers)));
  });

  // The checks that read only headers are declared on the lane, which answers them before Fastify
  // does (src/http/check-lane.ts); with tracing on, every request goes through Fastify's hooks.
  const trust = config.trustedProxies.length > 0 ? proxyAddr.compile(config.trustedProxies) : null;
  const lane = new CheckLane({
    log: app.log,
    requestId: requestIdOf,
    address: (raw) => rawClientAddress(raw, trust),
    observe: countRequest,
    failureReply,
    draining,
  });
  for (const dialect of dialects) {
    await app.register(async (scope) => dialect.register(scope, { core, lane }));
  }
  await app.register(async (scope) => registerHealth(scope, core, draining));
  if (deps.metrics) {
    const metrics = deps.metrics;
    await app.register(async (scope) => registerMetrics(scope, config, metrics, core.credentialGuard));
  }
  await app.register(async (scope) => registerJwks(scope, core));
  // Introspection, revocation (RFC 7662, 7009) and forward-auth for reverse proxies.
  await app.register(async (scope) => registerOauth(scope, core));
  await app.register(async (scope) => registerForwardAuth(scope, core, lane));
  await app.register(async (scope) => (await import('./native/secret-scanning.ts')).registerSecretScanning(scope, core));
  await app.register(async (scope) => (await import('./native/revocations.ts')).registerRevocationStream(scope, core, draining));
  // The web console, its cabinet API (/api/cabinet) and admin API (/api/admin).
  await app.register(async (scope) => registerConsole(scope, core));
  deferredSchemas.set(app, schemas);
  if (!deps.tracing && deps.checkLane !== false) lane.install(app.server);
  return app;
}
