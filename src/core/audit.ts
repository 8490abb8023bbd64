import type { Clock } from './clock.ts';
import { eventOf } from './events/catalog.ts';
import type { AuditEvent, AuditType } from './model.ts';
import type { AuditQuery, AuditRepo } from './ports.ts';

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

/**
 * Appends a secret-free audit event to the hash chain. Details must never carry a token, key or
 * password. A change that webhooks announce (src/core/events/catalog.ts) puts its message in the
 * outbox in the same call, so inside a transaction the event lands with the change or not at all.
 */
export async function audit(repo: AuditRepo, clock: Clock, ctx: AuditContext, entry: AuditEntry): Promise<void> {
  const event = auditEvent(clock, ctx, entry);
  await repo.append(event, eventOf(event));
}

/** The event `audit` appends, for a write that stores it itself (SessionRepo.rotate). */
export function auditEvent(clock: Clock, ctx: AuditContext, entry: AuditEntry): Omit<AuditEvent, 'id'> {
  return {
    at: clock.now(),
    type: entry.type,
    accountId: entry.accountId ?? null,
    sessionId: entry.sessionId ?? null,
    address: ctx.address,
    detail: ctx.actor !== undefined ? { ...entry.detail, by: ctx.actor } : (entry.detail ?? {}),
  };
}

/** What the operator filters the audit log by. */
export type AuditFilters = Pick<AuditQuery, 'accountId' | 'type' | 'since' | 'until'>;

/** Entries an export reads per query: each page is written out before the next one is read. */
export const EXPORT_PAGE = 500;

/** The audit log as the operator reads it: filtered pages, and a streamed export. */
export class AuditLog {
  readonly #repo: AuditRepo;
  readonly #clock: Clock;

  constructor(repo: AuditRepo, clock: Clock) {
    this.#repo = repo;
    this.#clock = clock;
  }

  /** One page, newest first (by time, then id); `after` is the last entry of the previous page. */
  async page(filters: AuditFilters, page: { limit: number; after?: AuditQuery['after'] }): Promise<AuditEvent[]> {
    return this.#repo.query({ ...filters, order: 'desc', limit: page.limit, ...(page.after ? { after: page.after } : {}) });
  }

  /**
   * Every matching entry, oldest first, read from the database a page at a time as the consumer
   * pulls: memory holds one page whatever the size of the log. Without `until`, the export ends
   * at the time it started, so entries written meanwhile cannot keep it running for ever.
   */
  async *export(filters: AuditFilters, pageSize: number = EXPORT_PAGE): AsyncGenerator<AuditEvent> {
    const query: AuditQuery = { ...filters, until: filters.until ?? this.#clock.now() + 1, order: 'asc', limit: pageSize };
    for (;;) {
      const rows = await this.#repo.query(query);
      yield* rows;
      const last = rows.at(-1);
      if (rows.length < pageSize || !last) return;
      query.after = { at: last.at, id: last.id };
    }
  }
}
