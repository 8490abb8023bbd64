/**
 * buildApp(): the whole HTTP surface, built and never listening (tests use inject() or listen
 * themselves). One process serves every enabled dialect on one port (SPEC 3).
 */
// @fastify/swagger augments FastifySchema with tags, summary and examples used by every route.
import type {} from '@fastify/swagger';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Core } from '../core/tokend.ts';
import { sendWire, type WireDialect, type WireReply } from './dialect.ts';
import { DIALECTS } from './dialects/index.ts';
import { classifyError, queryCarriesCredential, type GenericFailure } from './failures.ts';
import { pickLang, type Lang } from './lang.ts';
import { nativeFailure } from './native/envelope.ts';
import { registerHealth } from './ops/health.ts';

export interface AppDeps {
  core: Core;
  logger: Logger;
}

const nativeDialect = { prefixes: [] as string[], renderFailure: nativeFailure };

/** Path without the query string: what logs see (a query string might carry a credential). */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { core, logger } = deps;
  const config = core.config;
  const dialects: WireDialect[] = DIALECTS.filter((d) => d.enabled(config)).map((d) => d.dialect);

  function dialectFor(url: string): Pick<WireDialect, 'renderFailure'> {
    const path = pathOf(url);
    return dialects.find((d) => d.prefixes.some((p) => path.startsWith(p))) ?? nativeDialect;
  }

  function failureReply(url: string, failure: GenericFailure, lang: Lang): WireReply {
    return dialectFor(url).renderFailure(failure, lang, failure.kind === 'unavailable' ? 5 : undefined);
  }

  const app = Fastify({
    loggerInstance: logger.child({}, {
      serializers: {
        // Whitelist, not blacklist: no headers (they carry tokens), no query string.
        req: (req: FastifyRequest) => ({ method: req.method, path: pathOf(req.url), address: req.ip }),
        res: (res: { statusCode: number }) => ({ status: res.statusCode }),
      },
    }) as unknown as FastifyInstance['log'],
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    http: { maxHeaderSize: config.maxHeaderSize },
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false } },
    // Requests that never parse (oversized headers, garbage) still get the dialect's envelope.
    clientErrorHandler(err, socket) {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const raw = (err as unknown as { rawPacket?: Buffer }).rawPacket;
      const firstLine = raw?.subarray(0, 2048).toString('latin1').split('\r\n')[0] ?? '';
      const url = firstLine.split(' ')[1] ?? '/';
      const kind = err.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'malformed_body';
      const wire = failureReply(url, { kind }, 'en');
      const body = JSON.stringify(wire.body);
      const status = kind === 'headers_too_large' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      if (socket.writable) {
        socket.write(
          `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy();
    },
  });

  await app.register(formbody);

  app.addHook('onRequest', async (request, reply) => {
    if (request.url.includes('?') && queryCarriesCredential(request.query)) {
      return sendWire(reply, failureReply(request.url, { kind: 'token_in_query' }, pickLang(request.headers)));
    }
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setNotFoundHandler((request, reply) => sendWire(reply, failureReply(request.url, { kind: 'not_found' }, pickLang(request.headers))));
  app.setErrorHandler((error, request, reply) => {
    const failure = classifyError(error);
    if (failure.kind === 'internal') request.log.error({ err: error }, 'unhandled error');
    return sendWire(reply, failureReply(request.url, failure, pickLang(request.headers)));
  });

  for (const dialect of dialects) {
    await app.register(async (scope) => dialect.register(scope, { core }));
  }
  await app.register(async (scope) => registerHealth(scope, core));
  return app;
}
