import type { Clock } from './clock.ts';
import { eventOf } from './events/catalog.ts';
import type { AuditType } from './model.ts';
import type { AuditRepo } from './ports.ts';

export interface AuditContext {
  /** Client address as seen by the HTTP layer (after trusted-proxy handling), or 'cli'. */
  address: string | null;
}

export interface AuditEntry {
  type: AuditType;
  accountId?: number | null;
  sessionId?: string | null;
  detail?: Record<string, unknown>;
}

/**
 * Appends a secret-free audit event to the hash chain. Details must never carry a token, key or
 * password. A change that webhooks announce (src/core/events/catalog.ts) puts its message in the
 * outbox in the same call, so inside a transaction the event lands with the change or not at all.
 */
export async function audit(repo: AuditRepo, clock: Clock, ctx: AuditContext, entry: AuditEntry): Promise<void> {
  const event = {
    at: clock.now(),
    type: entry.type,
    accountId: entry.accountId ?? null,
    sessionId: entry.sessionId ?? null,
    address: ctx.address,
    detail: entry.detail ?? {},
  };
  await repo.append(event, eventOf(event));
}
