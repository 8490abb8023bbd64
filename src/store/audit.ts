/**
 * The audit log and its hash chain (AuditRepo, src/core/ports.ts; docs/audit.md), and the webhook
 * outbox rows an audited change writes in the same transaction.
 */
import type { Kysely, Selectable } from 'kysely';
import { chainHash, GENESIS_HASH, RETENTION_CUT_TYPE, type RetentionCut, type StoredChainEntry } from '../core/audit-chain.ts';
import type { OutgoingEvent } from '../core/events/catalog.ts';
import type { AuditEvent, AuditType } from '../core/model.ts';
import type { AuditRepo } from '../core/ports.ts';
import type { SqlDialect } from './dialect.ts';
import { prepared } from './prepared.ts';
import type { AuditEventsTable, DB } from './schema.ts';
import { enqueueOutgoing } from './webhooks.ts';

type NewEntry = Omit<AuditEvent, 'id'>;

/** A transaction of the caller's, or one of its own when called outside one (a failed login). */
async function inTransaction<T>(db: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

// Every audited change reads the head and appends: built and compiled once (src/store/prepared.ts).
const CHAIN_HEAD = prepared((db: Kysely<DB>, _: Record<string, never>) =>
  db.selectFrom('audit_events').select(['seq', 'hash']).where('seq', 'is not', null).orderBy('seq', 'desc').limit(1),
);
type NewRow = { at: number; type: string; accountId: number | null; sessionId: string | null; address: string | null; detail: string; seq: number; prevHash: string; hash: string };
const APPEND = prepared((db: Kysely<DB>, { at, type, accountId, sessionId, address, detail, seq, prevHash, hash }: NewRow) =>
  db.insertInto('audit_events').values({ at, type, account_id: accountId, session_id: sessionId, address, detail, seq, prev_hash: prevHash, hash }),
);

async function chainHead(trx: Kysely<DB>): Promise<{ seq: number; hash: string }> {
  const head = await CHAIN_HEAD.first(trx, {});
  return head && head.seq !== null && head.hash !== null ? { seq: Number(head.seq), hash: head.hash } : { seq: 0, hash: GENESIS_HASH };
}

/**
 * Appends under the chain lock (the caller's transaction holds it until it commits). `known`: the
 * head, read under the lock already by the caller.
 */
async function appendChained(trx: Kysely<DB>, d: SqlDialect, e: NewEntry, known?: { seq: number; hash: string }): Promise<void> {
  let head = known;
  if (!head) {
    await d.lockAuditChain(trx);
    head = await chainHead(trx);
  }
  // Hashed as it will read back: through JSON (undefined members dropped, dates as strings).
  const detail = JSON.parse(JSON.stringify(e.detail)) as Record<string, unknown>;
  const seq = head.seq + 1;
  const hash = chainHash({ seq, at: e.at, type: e.type, accountId: e.accountId, sessionId: e.sessionId, address: e.address, detail }, head.hash);
  await APPEND.run(trx, { at: e.at, type: e.type, accountId: e.accountId, sessionId: e.sessionId, address: e.address, detail: JSON.stringify(detail), seq, prevHash: head.hash, hash });
}

function toEvent(r: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: r.id,
    at: r.at,
    type: r.type as AuditType,
    accountId: r.account_id,
    sessionId: r.session_id,
    address: r.address,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
  };
}

export function auditRepo(db: Kysely<DB>, d: SqlDialect): AuditRepo {
  return {
    async append(e, outgoing) {
      await inTransaction(db, async (trx) => {
        await appendChained(trx, d, e);
        if (outgoing) await enqueueOutgoing(trx, outgoing satisfies OutgoingEvent);
      });
    },
    async list(filter) {
      let q = db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(filter.limit);
      if (filter.accountId !== undefined) q = q.where('account_id', '=', filter.accountId);
      if (filter.type !== undefined) q = q.where('type', '=', filter.type);
      if (filter.before !== undefined) q = q.where('id', '<', filter.before);
      return (await q.execute()).map(toEvent);
    },
    async query(f) {
      const { after, order } = f;
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .$if(f.accountId !== undefined, (q) => q.where('account_id', '=', f.accountId!))
        .$if(f.type !== undefined, (q) => q.where('type', '=', f.type!))
        .$if(f.since !== undefined, (q) => q.where('at', '>=', f.since!))
        .$if(f.until !== undefined, (q) => q.where('at', '<', f.until!))
        // Keyset on (at, id): a row-value comparison both databases run as an index range.
        .$if(after !== undefined, (q) => q.where((eb) => eb(eb.refTuple('at', 'id'), order === 'desc' ? '<' : '>', eb.tuple(after!.at, after!.id))))
        .orderBy('at', order)
        .orderBy('id', order)
        .limit(f.limit)
        .execute();
      return rows.map(toEvent);
    },
    async chainPage(afterSeq, limit) {
      const rows = await db.selectFrom('audit_events').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
      return rows.map((r): StoredChainEntry => ({ ...toEvent(r), seq: Number(r.seq), prevHash: r.prev_hash ?? '', hash: r.hash ?? '' }));
    },
    async countUnchained() {
      const r = await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('seq', 'is', null).executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async headSeq() {
      return (await chainHead(db)).seq;
    },
    async feed(afterSeq, types, limit, sinceAt) {
      let q = db.selectFrom('audit_events').selectAll().where('seq', '>', afterSeq).where('type', 'in', [...types]).orderBy('seq').limit(limit);
      if (sinceAt !== undefined) q = q.where('at', '>=', sinceAt);
      const rows = await q.execute();
      return rows.map((r): StoredChainEntry => ({ ...toEvent(r), seq: Number(r.seq), prevHash: r.prev_hash ?? '', hash: r.hash ?? '' }));
    },
    async cut(before, now, address) {
      return inTransaction(db, async (trx): Promise<RetentionCut | null> => {
        // The lock first: a cut and the appends around it see one head, and two cuts run one after the other.
        await d.lockAuditChain(trx);
        const head = await chainHead(trx);
        // The kept chain starts at the oldest entry at or after `before` (a prefix goes, never a gap).
        const firstKept = await trx
          .selectFrom('audit_events')
          .select(['seq', 'prev_hash'])
          .where('seq', 'is not', null)
          .where('at', '>=', before)
          .orderBy('seq')
          .limit(1)
          .executeTakeFirst();
        const keptFromSeq = firstKept?.seq != null ? Number(firstKept.seq) : head.seq + 1;
        const keptFromPrevHash = firstKept?.prev_hash ?? head.hash;
        const deleted = await trx
          .deleteFrom('audit_events')
          .where((eb) => eb.or([eb('seq', '<', keptFromSeq), eb.and([eb('seq', 'is', null), eb('at', '<', before)])]))
          .executeTakeFirst();
        const count = Number(deleted.numDeletedRows);
        if (count === 0) return null;
        const cut: RetentionCut = { keptFromSeq, keptFromPrevHash, deleted: count, before };
        await appendChained(trx, d, { at: now, type: RETENTION_CUT_TYPE, accountId: null, sessionId: null, address, detail: { ...cut } }, head);
        return cut;
      });
    },
  };
}
