/**
 * Webhook endpoints: the operator's (every event) and each account's (its own records' events).
 * A signing secret (`whsec_…`, Standard Webhooks) is shown once, at creation and at rotation,
 * and kept sealed under the master key (SecretBox).
 */
import { randomBytes } from 'node:crypto';
import { audit, type AuditContext } from '../audit.ts';
import type { Clock } from '../clock.ts';
import { InvalidInputError } from '../errors.ts';
import type { Store } from '../ports.ts';
import type { AddressGuard } from './address-guard.ts';
import { expiringEvent, type EventType } from './catalog.ts';
import type { EndpointOwner, SecretBox, WebhookAttempt, WebhookDelivery, WebhookEndpoint } from './ports.ts';

export const MAX_ENDPOINTS_PER_OWNER = 20;

export interface WebhookServiceDeps {
  store: Store;
  clock: Clock;
  secrets: SecretBox;
  guard: AddressGuard;
}

export interface EndpointInput {
  url: string;
  eventTypes: EventType[];
  description: string | null;
  enabled: boolean;
}

/** A new signing secret: `whsec_` and 32 random bytes in base64, as Standard Webhooks receivers expect. */
function newSecret(): { secret: string; hint: string } {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  return { secret, hint: `whsec_…${secret.slice(-4)}` };
}

function publicView(e: WebhookEndpoint & { secretSealed?: string }): WebhookEndpoint {
  const { secretSealed: _sealed, ...rest } = e;
  return rest;
}

export class WebhookService {
  readonly #d: WebhookServiceDeps;

  constructor(deps: WebhookServiceDeps) {
    this.#d = deps;
  }

  #checkUrl(url: string): string {
    const trimmed = url.trim();
    const problem = this.#d.guard.urlProblem(trimmed);
    if (problem) throw new InvalidInputError('url', problem);
    return trimmed;
  }

  async create(owner: { accountId: number | null }, input: EndpointInput, ctx: AuditContext): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const url = this.#checkUrl(input.url);
    const { store, clock, secrets } = this.#d;
    const existing = await store.webhooks.listEndpoints(owner.accountId === null ? 'all' : { accountId: owner.accountId });
    const mine = existing.filter((e) => e.accountId === owner.accountId);
    if (mine.length >= MAX_ENDPOINTS_PER_OWNER) throw new InvalidInputError('url', `at most ${MAX_ENDPOINTS_PER_OWNER} endpoints`);
    const id = `whe_${randomBytes(12).toString('hex')}`;
    const { secret, hint } = newSecret();
    const now = clock.now();
    const endpoint: WebhookEndpoint = {
      id,
      accountId: owner.accountId,
      url,
      eventTypes: [...new Set(input.eventTypes)],
      description: input.description,
      secretHint: hint,
      enabled: input.enabled,
      createdAt: now,
      updatedAt: now,
    };
    await store.transaction(async (tx) => {
      await tx.webhooks.insertEndpoint({ ...endpoint, secretSealed: secrets.seal(secret, id) });
      // The host only: a receiver's URL often carries a secret of its own in its path or query.
      await audit(tx.audit, clock, ctx, { type: 'webhook.created', accountId: owner.accountId, detail: { id, host: new URL(url).host, eventTypes: endpoint.eventTypes } });
    });
    return { endpoint, secret };
  }

  async list(owner: EndpointOwner): Promise<WebhookEndpoint[]> {
    return (await this.#d.store.webhooks.listEndpoints(owner)).map(publicView);
  }

  /** The endpoint if it exists and `owner` may see it. */
  async get(id: string, owner: EndpointOwner): Promise<WebhookEndpoint | null> {
    const e = await this.#d.store.webhooks.findEndpoint(id);
    if (!e || (owner !== 'all' && e.accountId !== owner.accountId)) return null;
    return publicView(e);
  }

  async update(id: string, owner: EndpointOwner, patch: Partial<EndpointInput>, ctx: AuditContext): Promise<WebhookEndpoint | null> {
    const url = patch.url !== undefined ? this.#checkUrl(patch.url) : undefined;
    const { store, clock } = this.#d;
    const found = await this.get(id, owner);
    if (!found) return null;
    await store.transaction(async (tx) => {
      await tx.webhooks.updateEndpoint(id, {
        ...(url !== undefined ? { url } : {}),
        ...(patch.eventTypes !== undefined ? { eventTypes: [...new Set(patch.eventTypes)] } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
        updatedAt: clock.now(),
      });
      await audit(tx.audit, clock, ctx, { type: 'webhook.updated', accountId: found.accountId, detail: { id, changed: Object.keys(patch).sort() } });
    });
    return this.get(id, owner);
  }

  async delete(id: string, owner: EndpointOwner, ctx: AuditContext): Promise<boolean> {
    const { store, clock } = this.#d;
    const found = await this.get(id, owner);
    if (!found) return false;
    return store.transaction(async (tx) => {
      const deleted = await tx.webhooks.deleteEndpoint(id);
      if (deleted) await audit(tx.audit, clock, ctx, { type: 'webhook.deleted', accountId: found.accountId, detail: { id } });
      return deleted;
    });
  }

  /** A new signing secret, shown once; the old one stops signing at once. */
  async rotateSecret(id: string, owner: EndpointOwner, ctx: AuditContext): Promise<{ endpoint: WebhookEndpoint; secret: string } | null> {
    const { store, clock, secrets } = this.#d;
    const found = await this.get(id, owner);
    if (!found) return null;
    const { secret, hint } = newSecret();
    await store.transaction(async (tx) => {
      await tx.webhooks.updateEndpoint(id, { secretSealed: secrets.seal(secret, id), secretHint: hint, updatedAt: clock.now() });
      await audit(tx.audit, clock, ctx, { type: 'webhook.secret_rotated', accountId: found.accountId, detail: { id } });
    });
    const endpoint = await this.get(id, owner);
    return endpoint ? { endpoint, secret } : null;
  }

  async deliveries(id: string, owner: EndpointOwner, page: { limit: number; beforeId?: number }): Promise<WebhookDelivery[] | null> {
    if (!(await this.get(id, owner))) return null;
    return this.#d.store.webhooks.listDeliveries(id, page);
  }

  async attempts(id: string, owner: EndpointOwner, page: { limit: number; beforeId?: number }): Promise<WebhookAttempt[] | null> {
    if (!(await this.get(id, owner))) return null;
    return this.#d.store.webhooks.listAttempts(id, page);
  }

  /**
   * Announces API tokens that expire within `windowMs` (`api_token.expiring`), once per token and
   * expiry however often it runs, on however many nodes. Returns how many tokens it looked at.
   */
  async announceExpiring(windowMs: number): Promise<number> {
    const { store, clock } = this.#d;
    const now = clock.now();
    const tokens = await store.webhooks.apiTokensExpiring(now, now + windowMs, 1000);
    for (const t of tokens) await store.transaction((tx) => tx.webhooks.enqueue(expiringEvent(t, now)));
    return tokens.length;
  }

  /** Sends a delivery of this endpoint once more, now (whatever became of it); null when there is no such delivery. */
  async redeliver(id: string, deliveryId: number, owner: EndpointOwner): Promise<WebhookDelivery | null> {
    const { store, clock } = this.#d;
    if (!(await this.get(id, owner))) return null;
    const delivery = await store.webhooks.findDelivery(deliveryId);
    if (!delivery || delivery.endpointId !== id) return null;
    await store.transaction((tx) => tx.webhooks.redeliver(deliveryId, clock.now()));
    return store.webhooks.findDelivery(deliveryId);
  }
}
