import type { Clock } from './clock.ts';
import type { AuditType } from './model.ts';
import type { AuditRepo } from './ports.ts';

export interface AuditContext {
  /** Client address as seen by the HTTP layer (after trusted-proxy handling), or 'cli'. */
  address: string | null;
  /**
   * Who acted, when it is not the account itself: `admin` (the admin token), `console` (the
   * operator console) or `operator_key:<id>`. Recorded as the event's `by`.
   */
  actor?: string;
}

export interface AuditEntry {
  type: AuditType;
  accountId?: number | null;
  sessionId?: string | null;
  detail?: Record<string, unknown>;
}

/** Appends a secret-free audit event. Details must never carry a token, key or password. */
export async function audit(repo: AuditRepo, clock: Clock, ctx: AuditContext, entry: AuditEntry): Promise<void> {
  await repo.append({
    at: clock.now(),
    type: entry.type,
    accountId: entry.accountId ?? null,
    sessionId: entry.sessionId ?? null,
    address: ctx.address,
    detail: ctx.actor !== undefined ? { ...entry.detail, by: ctx.actor } : (entry.detail ?? {}),
  });
}
