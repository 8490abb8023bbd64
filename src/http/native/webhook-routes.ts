/**
 * Webhook endpoints over HTTP, one set of routes for two owners: the operator
 * (`/api/admin/webhooks`, every endpoint, each route behind a `webhooks:*` permission) and a
 * signed-in account (`/api/cabinet/webhooks`, its own endpoints only). The signing secret is in
 * the create and rotate-secret answers only. docs/webhooks.md.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyContextConfig, FastifyRequest } from 'fastify';
import { MAX_URL_LENGTH } from '../../core/events/address-guard.ts';
import { EVENT_TYPES } from '../../core/events/catalog.ts';
import type { EndpointOwner, WebhookAttempt, WebhookDelivery, WebhookEndpoint } from '../../core/events/ports.ts';
import type { Core } from '../../core/tokend.ts';
import type { HttpApp } from '../dialect.ts';
import type { RouteAccess } from './admin/access.ts';
import { consoleContext } from './console-auth.ts';
import { readResponses, writeResponses } from './console-responses.ts';
import { Nullable } from './console-schemas.ts';
import { NewWebhookEndpoint, WebhookAttemptPage, WebhookAttemptView, WebhookDeliveryPage, WebhookDeliveryView, WebhookEndpointPage, WebhookEndpointView } from './webhook-schemas.ts';
import { RECORD_ID_PATTERN } from './ids.ts';
import { decodeCursor, page, pageLimit, PageQueryProps } from './paging.ts';
import { notFound } from './answers.ts';

const Strict = { additionalProperties: false } as const;

const EventTypeSchema = Type.Union(EVENT_TYPES.map((t) => Type.Literal(t)), { description: 'An event type (docs/webhooks.md).' });
const EventTypes = Type.Array(EventTypeSchema, { maxItems: EVENT_TYPES.length * 2, description: 'The event types sent; empty: every type.' });
const Url = Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH, description: 'http(s) URL the events are POSTed to; not a private, loopback or link-local address.' });
const Description = Nullable(Type.String({ maxLength: 200 }));


const Deleted = Type.Object({ deleted: Type.Literal(true) });

const IdParams = Type.Object({ id: Type.String({ pattern: '^whe_[0-9a-f]{24}$' }) }, Strict);
const DeliveryParams = Type.Object({ id: Type.String({ pattern: '^whe_[0-9a-f]{24}$' }), deliveryId: Type.String({ pattern: RECORD_ID_PATTERN }) }, Strict);
const PageQuery = Type.Object(PageQueryProps, Strict);
const CreateBody = Type.Object(
  { url: Url, eventTypes: Type.Optional(EventTypes), description: Type.Optional(Description), enabled: Type.Optional(Type.Boolean()) },
  Strict,
);
const UpdateBody = Type.Object(
  { url: Type.Optional(Url), eventTypes: Type.Optional(EventTypes), description: Type.Optional(Description), enabled: Type.Optional(Type.Boolean()) },
  Strict,
);
const NoBody = Type.Object({}, Strict);

export function endpointView(e: WebhookEndpoint): Static<typeof WebhookEndpointView> {
  return {
    id: e.id,
    accountId: e.accountId,
    url: e.url,
    eventTypes: e.eventTypes,
    description: e.description,
    secretHint: e.secretHint,
    enabled: e.enabled,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

function deliveryView(d: WebhookDelivery): Static<typeof WebhookDeliveryView> {
  return { ...d };
}

function attemptView(a: WebhookAttempt): Static<typeof WebhookAttemptView> {
  return { id: a.id, deliveryId: a.deliveryId, messageId: a.messageId, attempt: a.attempt, at: a.at, statusCode: a.statusCode, latencyMs: a.latencyMs, error: a.error };
}

const isId = (k: unknown): k is number => typeof k === 'number' && Number.isSafeInteger(k) && k > 0;
const isEndpointKey = (k: unknown): k is [number, string] =>
  Array.isArray(k) && k.length === 2 && typeof k[0] === 'number' && typeof k[1] === 'string';

export interface WebhookRouteOptions {
  /** `/api/admin/webhooks` or `/api/cabinet/webhooks`. */
  prefix: string;
  tag: 'admin' | 'cabinet';
  /** Whose endpoints a request manages. */
  owner(request: FastifyRequest): EndpointOwner;
  /** The account new endpoints belong to (null: the operator). */
  creator(request: FastifyRequest): number | null;
  /** Admin routes: the permission each needs (src/http/native/admin/access.ts). */
  permissions?: { read: RouteAccess; write: RouteAccess };
}

export async function registerWebhookRoutes(app: HttpApp, core: Core, o: WebhookRouteOptions): Promise<void> {
  const { prefix, tag } = o;
  const read: FastifyContextConfig = o.permissions ? { permission: o.permissions.read } : {};
  const write: FastifyContextConfig = o.permissions ? { permission: o.permissions.write } : {};

  app.get(
    prefix,
    { config: read, schema: { tags: [tag], summary: 'Webhook endpoints, oldest first', querystring: PageQuery, response: readResponses(WebhookEndpointPage) } },
    async (request) => {
      const limit = pageLimit(request.query);
      const after = decodeCursor(request.query.cursor, isEndpointKey);
      const all = await core.webhooks.list(o.owner(request));
      const rest = after ? all.filter((e) => e.createdAt > after[0] || (e.createdAt === after[0] && e.id > after[1])) : all;
      return page(rest.slice(0, limit + 1), limit, endpointView, (e) => [e.createdAt, e.id]);
    },
  );

  app.post(
    prefix,
    {
      // The admin API honours Idempotency-Key on creating POSTs (docs/admin-api.md); the cabinet has no such contract.
      config: o.permissions ? { ...write, idempotent: true } : write,
      schema: { tags: [tag], summary: 'Add a webhook endpoint; its signing secret is in this answer only', body: CreateBody, response: writeResponses(201, NewWebhookEndpoint) },
    },
    async (request, reply) => {
      const body = request.body;
      const created = await core.webhooks.create(
        { accountId: o.creator(request) },
        { url: body.url, eventTypes: body.eventTypes ?? [], description: body.description?.trim() || null, enabled: body.enabled ?? true },
        consoleContext(request),
      );
      return reply.code(201).send({ endpoint: endpointView(created.endpoint), secret: created.secret });
    },
  );

  app.get(
    `${prefix}/:id`,
    { config: read, schema: { tags: [tag], summary: 'One webhook endpoint', params: IdParams, response: readResponses(WebhookEndpointView, ['not_found']) } },
    async (request, reply) => {
      const e = await core.webhooks.get(request.params.id, o.owner(request));
      return e ? endpointView(e) : notFound(reply);
    },
  );

  app.patch(
    `${prefix}/:id`,
    {
      config: write,
      schema: { tags: [tag], summary: 'Change a webhook endpoint (URL, event types, description, enabled)', params: IdParams, body: UpdateBody, response: writeResponses(200, WebhookEndpointView, ['not_found']) },
    },
    async (request, reply) => {
      const b = request.body;
      const patch = {
        ...(b.url !== undefined ? { url: b.url } : {}),
        ...(b.eventTypes !== undefined ? { eventTypes: b.eventTypes } : {}),
        ...(b.description !== undefined ? { description: b.description?.trim() || null } : {}),
        ...(b.enabled !== undefined ? { enabled: b.enabled } : {}),
      };
      const e = await core.webhooks.update(request.params.id, o.owner(request), patch, consoleContext(request));
      return e ? endpointView(e) : notFound(reply);
    },
  );

  app.delete(
    `${prefix}/:id`,
    { config: write, schema: { tags: [tag], summary: 'Delete a webhook endpoint with its deliveries', params: IdParams, response: writeResponses(200, Deleted, ['not_found']) } },
    async (request, reply) => {
      const deleted = await core.webhooks.delete(request.params.id, o.owner(request), consoleContext(request));
      return deleted ? { deleted: true as const } : notFound(reply);
    },
  );

  app.post(
    `${prefix}/:id/rotate-secret`,
    {
      config: write,
      schema: { tags: [tag], summary: 'A new signing secret, in this answer only; the old one stops signing at once', params: IdParams, body: NoBody, response: writeResponses(200, NewWebhookEndpoint, ['not_found']) },
    },
    async (request, reply) => {
      const rotated = await core.webhooks.rotateSecret(request.params.id, o.owner(request), consoleContext(request));
      return rotated ? { endpoint: endpointView(rotated.endpoint), secret: rotated.secret } : notFound(reply);
    },
  );

  /** An endpoint's history, newest first, a page at a time: its deliveries and its attempts alike. */
  function history<R extends { id: number }>(
    path: string,
    summary: string,
    response: TSchema,
    rowsOf: (id: string, owner: EndpointOwner, paging: { limit: number; beforeId?: number }) => Promise<R[] | null>,
    view: (row: R) => unknown,
  ): void {
    app.get(
      `${prefix}/:id/${path}`,
      { config: read, schema: { tags: [tag], summary, params: IdParams, querystring: PageQuery, response: readResponses(response, ['not_found']) } },
      async (request, reply) => {
        const limit = pageLimit(request.query);
        const before = decodeCursor(request.query.cursor, isId);
        const rows = await rowsOf(request.params.id, o.owner(request), { limit: limit + 1, ...(before ? { beforeId: before } : {}) });
        return rows ? page(rows, limit, view, (r) => r.id) : notFound(reply);
      },
    );
  }
  history('deliveries', "An endpoint's deliveries, newest first", WebhookDeliveryPage, (...a) => core.webhooks.deliveries(...a), deliveryView);
  history('attempts', "An endpoint's recent delivery attempts, newest first", WebhookAttemptPage, (...a) => core.webhooks.attempts(...a), attemptView);

  app.post(
    `${prefix}/:id/deliveries/:deliveryId/redeliver`,
    {
      config: write,
      schema: { tags: [tag], summary: 'Send a delivery once more, now, whatever became of it', params: DeliveryParams, body: NoBody, response: writeResponses(200, WebhookDeliveryView, ['not_found']) },
    },
    async (request, reply) => {
      const d = await core.webhooks.redeliver(request.params.id, Number(request.params.deliveryId), o.owner(request));
      return d ? deliveryView(d) : notFound(reply);
    },
  );
}
