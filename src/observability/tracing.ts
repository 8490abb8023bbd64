/**
 * Traces, off by default. With `OTEL_EXPORTER_OTLP_ENDPOINT` set (the OpenTelemetry SDK's own
 * variable; `OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_HEADERS` and the other standard ones apply
 * too), `startTracing` loads the OpenTelemetry SDK (src/observability/otel.ts, imported only
 * then) and every request gets a trace: a span for the HTTP request, one per core operation it
 * calls, one per store transaction. Without it nothing is loaded and nothing is wrapped, so a
 * node without tracing runs exactly the code it runs without this file.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../core/tokend.ts';
import type { Database } from '../store/database.ts';

export interface Tracing {
  /** Fastify hooks: the request's span opens in `onRequest` (the rest of the request runs inside it) and ends in `onResponse`. */
  onRequest(request: FastifyRequest, reply: FastifyReply, done: () => void): void;
  onResponse(request: FastifyRequest, reply: FastifyReply, done: () => void): void;
  /** Core whose services' calls are spans (`core.sessions.refresh`). */
  traceCore<C extends Core>(core: C): C;
  /** The store whose transactions are spans (`store.transaction`). */
  traceStore(store: Database): Database;
  /** Exports what is buffered and stops (shutdown). */
  shutdown(): Promise<void>;
}

/** Tracing when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, else null. */
export async function startTracing(env: Record<string, string | undefined>, version: string): Promise<Tracing | null> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return null;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  const { createOtelTracing } = await import('./otel.ts');
  return createOtelTracing({ serviceName: env.OTEL_SERVICE_NAME || 'tokend', version });
}
