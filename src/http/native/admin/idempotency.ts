/**
 * `Idempotency-Key` on the admin API's creating POSTs (routes with `config: { idempotent: true }`;
 * docs/admin-api.md, "Conventions"). After validation (a malformed request is refused as always
 * and claims nothing), the key is claimed for the calling credential; the answer is remembered
 * (sealed: it may carry a secret shown once, src/core/idempotency.ts) when it is sent. The same
 * key and request again within 24 h get that answer with `Idempotent-Replayed: true`; another
 * request under the key gets 409 `idempotency_conflict`; a retry while the first is still running
 * gets 409 `idempotency_in_progress`. Only a success is remembered: a refused request changed
 * nothing, so its key is free again and a retry (corrected or not) simply runs.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { requestHash, type IdempotencyRequest } from '../../../core/idempotency.ts';
import type { Core } from '../../../core/tokend.ts';
import { sendWire, type HttpApp } from '../../dialect.ts';
import { headerValue } from '../../lang.ts';
import { nativeError } from '../envelope.ts';
import { credentialId, operatorOf } from './auth.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';

/** The header's schema on idempotent routes (documents it, and refuses a malformed key with 400). */
export const IdempotencyHeaders = Type.Object({
  [IDEMPOTENCY_HEADER]: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x20-\\x7E]+$',
      description: 'Any 1-255 printable characters, new for each new request: a retry with the same key and body answers the first answer again (24 h).',
    }),
  ),
});

/** Documents (and validates) the header on idempotent routes; run from the admin scope's onRoute hook. */
export function documentIdempotency(route: RouteOptions): void {
  if (route.config?.idempotent !== true) return;
  const schema = (route.schema ?? {}) as Record<string, unknown>;
  const own = schema.headers as { properties?: Record<string, unknown> } | undefined;
  // A route with headers of its own keeps them; the key's property joins them.
  const headers = own ? { ...own, properties: { ...own.properties, ...IdempotencyHeaders.properties } } : IdempotencyHeaders;
  route.schema = { ...schema, headers } as RouteOptions['schema'];
}

const CLAIMED = new WeakMap<FastifyRequest, IdempotencyRequest>();

export function registerIdempotency(app: HttpApp, core: Core): void {
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config.idempotent !== true) return;
    const key = headerValue(request.headers[IDEMPOTENCY_HEADER]);
    if (key === undefined) return;
    const claim: IdempotencyRequest = {
      credential: credentialId(operatorOf(request)),
      key,
      requestHash: requestHash(request.method, request.url.split('?')[0]!, request.body),
    };
    const start = await core.idempotency.begin(claim);
    switch (start.kind) {
      case 'run':
        CLAIMED.set(request, claim);
        return;
      case 'replay':
        return reply.code(start.status).header(REPLAYED_HEADER, 'true').type('application/json; charset=utf-8').send(start.body);
      case 'conflict':
        return sendWire(reply, nativeError('idempotency_conflict'));
      case 'in_progress':
        return sendWire(reply, nativeError('idempotency_in_progress'));
    }
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const claim = CLAIMED.get(request);
    if (!claim) return payload;
    CLAIMED.delete(request);
    const status = reply.statusCode;
    try {
      if (status >= 400 || typeof payload !== 'string') await core.idempotency.abandon(claim);
      else await core.idempotency.finish(claim, status, payload);
    } catch (err) {
      // The answer itself is fine: the caller gets it. A retry under the key gets 409 in progress
      // until the claim goes stale (src/core/idempotency.ts), never a second record.
      request.log.warn({ err }, 'could not remember the answer of an Idempotency-Key');
    }
    return payload;
  });
}
