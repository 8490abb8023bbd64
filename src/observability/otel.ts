/**
 * Tracing with the official OpenTelemetry SDK for JavaScript: spans batched and exported over
 * OTLP/HTTP (JSON) to `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`. Loaded only when tracing is on
 * (src/observability/tracing.ts).
 *
 * The parent of each span is carried in an AsyncLocalStorage of this module's, not in the
 * OpenTelemetry API's global context manager: tokend registers nothing global, so an application
 * that embeds it keeps its own OpenTelemetry setup.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { FastifyRequest } from 'fastify';
import type { Tracing } from './tracing.ts';

/** The services of core whose calls are spans: the operations a request asks of core. */
const CORE_SERVICES = ['accounts', 'sessions', 'serviceAccounts', 'apiTokens', 'verifier', 'verification', 'callers', 'console', 'signing'] as const;

export function createOtelTracing(options: { serviceName: string; version: string }): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName, [ATTR_SERVICE_VERSION]: options.version }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })],
  });
  const tracer: Tracer = provider.getTracer('tokend', options.version);
  const current = new AsyncLocalStorage<Span>();
  const requestSpans = new WeakMap<FastifyRequest, Span>();

  function start(name: string, kind: SpanKind): Span {
    const parent = current.getStore();
    return tracer.startSpan(name, { kind }, parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT);
  }

  /** Runs `fn` inside a span of its own; a sync result ends it at once, a promise when it settles. */
  function within<T>(name: string, fn: () => T): T {
    const span = start(name, SpanKind.INTERNAL);
    const failed = (error: unknown): never => {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw error;
    };
    let result: T;
    try {
      result = current.run(span, fn);
    } catch (error) {
      return failed(error);
    }
    if (result instanceof Promise) {
      return result.then((value: unknown) => {
        span.end();
        return value;
      }, failed) as T;
    }
    span.end();
    return result;
  }

  function traced<S extends object>(service: S, prefix: string): S {
    return new Proxy(service, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        return (...args: unknown[]) => within(`${prefix}.${prop}`, () => (value as (...a: unknown[]) => unknown).apply(target, args));
      },
    });
  }

  return {
    onRequest(request, _reply, done) {
      const route = request.routeOptions.url;
      const span = start(route ? `${request.method} ${route}` : request.method, SpanKind.SERVER);
      span.setAttribute(ATTR_HTTP_REQUEST_METHOD, request.method);
      if (route) span.setAttribute(ATTR_HTTP_ROUTE, route);
      span.setAttribute('tokend.request_id', request.id);
      requestSpans.set(request, span);
      current.run(span, done);
    },
    onResponse(request, reply, done) {
      const span = requestSpans.get(request);
      if (span) {
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, reply.statusCode);
        if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        requestSpans.delete(request);
      }
      done();
    },
    traceCore(core) {
      const wrapped = new Map<PropertyKey, unknown>();
      for (const name of CORE_SERVICES) {
        const service = (core as unknown as Record<string, unknown>)[name];
        if (typeof service === 'object' && service !== null) wrapped.set(name, traced(service, `core.${name}`));
      }
      return new Proxy(core, {
        get(target, prop, receiver) {
          return wrapped.has(prop) ? wrapped.get(prop) : Reflect.get(target, prop, receiver);
        },
      });
    },
    traceStore(store) {
      // A write of one statement (PostgreSQL) commits by itself: a transaction all the same.
      return {
        ...store,
        transaction: (fn) => within('store.transaction', () => store.transaction(fn)),
        write: (fn) => within('store.transaction', () => store.write(fn)),
      };
    },
    async shutdown() {
      await provider.shutdown();
    },
  };
}
