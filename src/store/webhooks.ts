/** Webhook endpoints, the outbox and its deliveries: the queries behind WebhookRepo (src/core/events/ports.ts). */
import { sql, type Kysely, type Selectable } from 'kysely';
import { isEventType, type EventType, type OutgoingEvent } from '../core/events/catalog.ts';
import type { DeliveryStatus, StoredEndpoint, WebhookAttempt, WebhookDelivery, WebhookRepo } from '../core/events/ports.ts';
import type { SqlDialect } from './dialect.ts';
import type { DB, WebhookAttemptsTable, WebhookEndpointsTable } from './schema.ts';

function toEndpoint(r: Selectable<WebhookEndpointsTable>): StoredEndpoint {
  return {
    id: r.id,
    accountId: r.account_id,
    url: r.url,
    eventTypes: parseTypes(r.event_types),
    description: r.description,
    secretHint: r.secret_hint,
    secretSealed: r.secret_sealed,
    enabled: Number(r.enabled) === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function parseTypes(json: string): EventType[] {
  const parsed = JSON.parse(json) as unknown;
  return Array.isArray(parsed) ? parsed.filter((t): t is EventType => typeof t === 'string' && isEventType(t)) : [];
}

function toAttempt(r: Selectable<WebhookAttemptsTable>): WebhookAttempt {
  return {
    id: r.id,
    deliveryId: r.delivery_id,
    endpointId: r.endpoint_id,
    messageId: r.message_id,
    attempt: r.attempt,
    at: r.at,
    statusCode: r.status_code,
    latencyMs: r.latency_ms,
    error: r.error,
  };
}

/**
 * Writes an outgoing message and one pending delivery per enabled endpoint that wants it (the
 * operator's, and the account's own), in the caller's transaction. Nothing is written when no
 * endpoint wants it, and nothing more when the message id is in the outbox already (an event
 * that goes out once).
 */
export async function enqueueOutgoing(trx: Kysely<DB>, ev: OutgoingEvent): Promise<void> {
  let q = trx.selectFrom('webhook_endpoints').select(['id', 'event_types']).where('enabled', '=', 1);
  q = ev.accountId === null ? q.where('account_id', 'is', null) : q.where((eb) => eb.or([eb('account_id', 'is', null), eb('account_id', '=', ev.accountId)]));
  const endpoints = (await q.execute()).filter((e) => {
    const types = parseTypes(e.event_types);
    return types.length === 0 || types.includes(ev.type);
  });
  if (endpoints.length === 0) return;
  const inserted = await trx
    .insertInto('webhook_messages')
    .values({ id: ev.id, type: ev.type, account_id: ev.accountId, payload: ev.payload, created_at: ev.createdAt })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return;
  await trx
    .insertInto('webhook_deliveries')
    .values(endpoints.map((e) => ({ message_id: ev.id, endpoint_id: e.id, status: 'pending', attempts: 0, next_attempt_at: ev.createdAt, created_at: ev.createdAt })))
    .execute();
}

const DELIVERY_COLUMNS = [
  'd.id',
  'd.message_id',
  'd.endpoint_id',
  'm.type',
  'd.status',
  'd.attempts',
  'd.next_attempt_at',
  'd.last_status',
  'd.last_latency_ms',
  'd.last_error',
  'd.delivered_at',
  'd.created_at',
] as const;

export function webhookRepo(db: Kysely<DB>, d: SqlDialect): WebhookRepo {
  const deliveries = () => db.selectFrom('webhook_deliveries as d').innerJoin('webhook_messages as m', 'm.id', 'd.message_id').select(DELIVERY_COLUMNS);
  const toDelivery = (r: Awaited<ReturnType<ReturnType<typeof deliveries>['executeTakeFirstOrThrow']>>): WebhookDelivery => ({
    id: r.id,
    messageId: r.message_id,
    endpointId: r.endpoint_id,
    type: r.type,
    status: r.status as DeliveryStatus,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastStatus: r.last_status,
    lastLatencyMs: r.last_latency_ms,
    lastError: r.last_error,
    deliveredAt: r.delivered_at,
    createdAt: r.created_at,
  });
  return {
    async insertEndpoint(e) {
      await db
        .insertInto('webhook_endpoints')
        .values({
          id: e.id,
          account_id: e.accountId,
          url: e.url,
          event_types: JSON.stringify(e.eventTypes),
          description: e.description,
          secret_sealed: e.secretSealed,
          secret_hint: e.secretHint,
          enabled: e.enabled ? 1 : 0,
          created_at: e.createdAt,
          updated_at: e.updatedAt,
        })
        .execute();
    },
    async findEndpoint(id) {
      const r = await db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toEndpoint(r) : null;
    },
    async listEndpoints(owner) {
      let q = db.selectFrom('webhook_endpoints').selectAll().orderBy('created_at').orderBy('id');
      if (owner !== 'all') q = q.where('account_id', '=', owner.accountId);
      return (await q.execute()).map(toEndpoint);
    },
    async updateEndpoint(id, patch) {
      const r = await db
        .updateTable('webhook_endpoints')
        .set({
          ...(patch.url !== undefined ? { url: patch.url } : {}),
          ...(patch.eventTypes !== undefined ? { event_types: JSON.stringify(patch.eventTypes) } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          ...(patch.enabled !== undefined ? { enabled: patch.enabled ? 1 : 0 } : {}),
          ...(patch.secretSealed !== undefined ? { secret_sealed: patch.secretSealed } : {}),
          ...(patch.secretHint !== undefined ? { secret_hint: patch.secretHint } : {}),
          updated_at: patch.updatedAt,
        })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async deleteEndpoint(id) {
      // Children first: the foreign keys cascade too, but SQLite only with foreign_keys on, which a
      // database opened by another tool may not have.
      await db.deleteFrom('webhook_attempts').where('endpoint_id', '=', id).execute();
      await db.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
      const r = await db.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async claimDue(now, leaseUntil, limit, claim) {
      // One statement: the subquery picks due rows (skipping, on PostgreSQL, those another node is
      // claiming right now), the update leases them and counts the attempt. A row another node
      // leased and committed meanwhile fails the re-checked WHERE and is left to it.
      const claimed = await sql<{ id: number }>`
        update webhook_deliveries set claim = ${claim}, claimed_until = ${leaseUntil}, attempts = attempts + 1
        where id in (
          select id from webhook_deliveries
          where status = 'pending' and next_attempt_at <= ${now} and (claimed_until is null or claimed_until < ${now})
            and endpoint_id in (select id from webhook_endpoints where enabled = 1)
          order by next_attempt_at
          limit ${limit}
          ${d.skipLocked}
        )
        returning id`.execute(db);
      if (claimed.rows.length === 0) return [];
      const rows = await db
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
        .innerJoin('webhook_messages as m', 'm.id', 'd.message_id')
        .select(['d.id', 'd.claim', 'd.attempts', 'd.message_id', 'd.endpoint_id', 'd.created_at', 'e.url', 'e.secret_sealed', 'm.payload'])
        .where('d.id', 'in', claimed.rows.map((r) => Number(r.id)))
        .where('d.claim', '=', claim)
        .execute();
      return rows.map((r) => ({
        id: r.id,
        claim,
        attempt: r.attempts,
        messageId: r.message_id,
        endpointId: r.endpoint_id,
        url: r.url,
        secretSealed: r.secret_sealed,
        payload: r.payload,
        createdAt: r.created_at,
      }));
    },
    async finish(delivery, attempt, next) {
      const r = await db
        .updateTable('webhook_deliveries')
        .set({
          status: next.status,
          ...(next.status === 'pending' ? { next_attempt_at: next.nextAttemptAt } : {}),
          delivered_at: next.status === 'delivered' ? next.at : null,
          last_status: attempt.statusCode,
          last_latency_ms: attempt.latencyMs,
          last_error: attempt.error,
          claim: null,
          claimed_until: null,
        })
        .where('id', '=', delivery.id)
        .where('claim', '=', delivery.claim)
        .executeTakeFirst();
      const exists = Number(r.numUpdatedRows) > 0 || (await db.selectFrom('webhook_deliveries').select('id').where('id', '=', delivery.id).executeTakeFirst()) !== undefined;
      // The attempt was made whatever became of the delivery meanwhile: it is on record, unless the
      // delivery itself is gone (its endpoint was deleted).
      if (exists) {
        await db
          .insertInto('webhook_attempts')
          .values({
            delivery_id: attempt.deliveryId,
            endpoint_id: attempt.endpointId,
            message_id: attempt.messageId,
            attempt: attempt.attempt,
            at: attempt.at,
            status_code: attempt.statusCode,
            latency_ms: attempt.latencyMs,
            error: attempt.error,
          })
          .execute();
      }
      return Number(r.numUpdatedRows) > 0;
    },
    async findDelivery(id) {
      const r = await deliveries().where('d.id', '=', id).executeTakeFirst();
      return r ? toDelivery(r) : null;
    },
    async listDeliveries(endpointId, page) {
      let q = deliveries().where('d.endpoint_id', '=', endpointId).orderBy('d.id', 'desc').limit(page.limit);
      if (page.beforeId !== undefined) q = q.where('d.id', '<', page.beforeId);
      return (await q.execute()).map(toDelivery);
    },
    async listAttempts(endpointId, page) {
      let q = db.selectFrom('webhook_attempts').selectAll().where('endpoint_id', '=', endpointId).orderBy('id', 'desc').limit(page.limit);
      if (page.beforeId !== undefined) q = q.where('id', '<', page.beforeId);
      return (await q.execute()).map(toAttempt);
    },
    async purgeFinished(before) {
      return db.transaction().execute(async (trx) => {
        const ids = trx.selectFrom('webhook_deliveries').select('id').where('status', 'in', ['delivered', 'failed']).where('created_at', '<', before);
        await trx.deleteFrom('webhook_attempts').where('delivery_id', 'in', ids).execute();
        const r = await trx.deleteFrom('webhook_deliveries').where('status', 'in', ['delivered', 'failed']).where('created_at', '<', before).executeTakeFirst();
        await trx
          .deleteFrom('webhook_messages')
          .where('created_at', '<', before)
          .where((eb) => eb.not(eb.exists(eb.selectFrom('webhook_deliveries as d').select('d.id').whereRef('d.message_id', '=', 'webhook_messages.id'))))
          .execute();
        return Number(r.numDeletedRows);
      });
    },
    async enqueue(event) {
      await (db.isTransaction ? enqueueOutgoing(db, event) : db.transaction().execute((trx) => enqueueOutgoing(trx, event)));
    },
    async apiTokensExpiring(from, until, limit) {
      const rows = await db
        .selectFrom('api_tokens')
        .select(['id', 'account_id', 'format', 'label', 'expires_at'])
        .where('revoked_at', 'is', null)
        .where('replaced_by', 'is', null)
        .where('expires_at', '>=', from)
        .where('expires_at', '<', until)
        .orderBy('expires_at')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ id: r.id, accountId: r.account_id, format: r.format, label: r.label, expiresAt: Number(r.expires_at) }));
    },
    async redeliver(id, now) {
      const r = await db
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', next_attempt_at: now, claim: null, claimed_until: null })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
  };
}
