/**
 * The audit log and its hash chain (AuditRepo, src/core/ports.ts; docs/audit.md), and the webhook
 * outbox rows an audited change writes in the same transaction.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
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

/** Appends an entry that the chainer links after its transaction commits (no lock taken here). */
async function appendPending(trx: Kysely<DB>, e: NewEntry): Promise<void> {
  // Stored as it will be hashed: through JSON (undefined members dropped, dates as strings).
  await trx
    .insertInto('audit_events')
    .values({ at: e.at, type: e.type, account_id: e.accountId, session_id: e.sessionId, address: e.address, detail: JSON.stringify(e.detail), seq: null, prev_hash: null, hash: null, chain_pending: 1 })
    .execute();
}

/** Entries linked per chaining transaction, at most. */
const CHAIN_BATCH = 500;

/**
 * Links waiting entries into the chain, in the order of their ids, under the chain's lock that
 * the caller's transaction `trx` holds: each gets the next seq, the previous entry's hash and its
 * own. Returns the new head and how many were linked.
 */
async function linkPending(trx: Kysely<DB>, head: { seq: number; hash: string }): Promise<{ head: { seq: number; hash: string }; linked: number }> {
  const rows = await trx
    .selectFrom('audit_events')
    .select(['id', 'at', 'type', 'account_id', 'session_id', 'address', 'detail'])
    .where('chain_pending', 'is not', null)
    .orderBy('id')
    .limit(CHAIN_BATCH)
    .execute();
  if (rows.length === 0) return { head, linked: 0 };
  let { seq, hash: prev } = head;
  const links = rows.map((r) => {
    seq++;
    const detail = JSON.parse(r.detail) as Record<string, unknown>;
    const hash = chainHash({ seq, at: r.at, type: r.type, accountId: r.account_id, sessionId: r.session_id, address: r.address, detail }, prev);
    const link = { id: r.id, seq, prevHash: prev, hash };
    prev = hash;
    return link;
  });
  // One statement for the batch: an UPDATE … FROM (VALUES …), which both databases run.
  const values = sql.join(links.map((l) => sql`(cast(${l.id} as bigint), cast(${l.seq} as bigint), ${l.prevHash}, ${l.hash})`));
  await sql`update audit_events set seq = v.seq, prev_hash = v.prev_hash, hash = v.hash, chain_pending = null
    from (values ${values}) as v(id, seq, prev_hash, hash) where audit_events.id = v.id`.execute(trx);
  return { head: { seq, hash: prev }, linked: links.length };
}

/** How often a server looks for entries left waiting (by a node that stopped between its commit and their link). */
const SWEEP_MS = 1000;

/**
 * Links audit entries into the hash chain after their transactions commit (dialects with
 * `chainAfterCommit`: PostgreSQL). An audited transaction writes its entry with no link and takes
 * no lock; once it commits, the store pokes the chainer, which in one short transaction of its own
 * takes the chain's lock, reads the head and links every entry waiting, in id order. The chain's
 * lock is then held by one transaction per batch instead of by every audited transaction from its
 * entry to its COMMIT, and audited commits share the server's WAL flushes like any others.
 *
 * What stays: one linear chain across every node (the chainers of all nodes take the same lock),
 * `seq` gap-free and committed in order (a reader never sees seq n+1 before n), every entry durable
 * with its change (it is written in that transaction). What moves: an entry is linked a moment
 * after its commit (milliseconds; at most SWEEP_MS when its node stopped before linking it, and
 * any node or `tokend audit verify` links it then). Until linked it is not yet covered by the
 * chain's proof; `settle()` links everything committed before a proof or a cut is made.
 */
export class AuditChainer {
  readonly #db: Kysely<DB>;
  readonly #d: SqlDialect;
  readonly #onError: (error: unknown) => void;
  /** Entries appended through this store (read by the store around its transactions). */
  appended = 0;
  #running: Promise<void> | null = null;
  #again = false;
  /** Passes of the loop begun and ended, whether one is under way, and who waits for one to end. */
  #begun = 0;
  #done = 0;
  #inPass = false;
  #waiters: { target: number; resolve: () => void }[] = [];
  #stopped = false;
  #sweep: NodeJS.Timeout | undefined;

  constructor(db: Kysely<DB>, d: SqlDialect, options: { sweep?: boolean; onError?: (error: unknown) => void } = {}) {
    this.#db = db;
    this.#d = d;
    this.#onError = options.onError ?? (() => {});
    if (options.sweep ?? true) {
      this.#sweep = setInterval(() => void this.#sweepOnce(), SWEEP_MS);
      this.#sweep.unref();
    }
  }

  /** An audited transaction committed: link its entries soon (coalesced with every other poke). */
  poke(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop();
  }

  /**
   * Resolves once the entries committed through this store so far are linked (or linking failed):
   * when the pass under way began after their pokes, its end; else the end of the next one. Not the
   * end of the loop, which under a steady load goes on.
   */
  async flush(): Promise<void> {
    if (!this.#running) return;
    const target = this.#inPass && !this.#again ? this.#begun : this.#begun + 1;
    if (this.#done >= target) return;
    await new Promise<void>((resolve) => this.#waiters.push({ target, resolve }));
  }

  #release(all: boolean): void {
    this.#waiters = this.#waiters.filter((w) => {
      if (!all && this.#done < w.target) return true;
      w.resolve();
      return false;
    });
  }

  /** Links every committed entry still waiting, whoever wrote it, before returning. */
  async settle(): Promise<void> {
    await this.flush();
    await this.#linkAll();
  }

  /** Stops the sweep and links what this store appended; later pokes are ignored. */
  async stop(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep);
    await this.flush();
    this.#stopped = true;
  }

  async #loop(): Promise<void> {
    // Let the pokes of this turn of the event loop (concurrent commits) join one batch.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      do {
        this.#again = false;
        this.#begun++;
        this.#inPass = true;
        try {
          await this.#linkAll();
        } finally {
          this.#inPass = false;
          this.#done++;
          this.#release(false);
        }
      } while (this.#again && !this.#stopped);
    } catch (error) {
      // The entries stay committed and waiting: the sweep (or the next poke) links them.
      this.#onError(error);
    } finally {
      this.#running = null;
      this.#release(true);
    }
  }

  async #linkAll(): Promise<void> {
    for (;;) {
      const linked = await this.#db.transaction().execute(async (trx) => {
        await this.#d.lockAuditChain(trx);
        return (await linkPending(trx, await chainHead(trx))).linked;
      });
      if (linked < CHAIN_BATCH) return;
    }
  }

  async #sweepOnce(): Promise<void> {
    if (this.#running || this.#stopped) return;
    try {
      const waiting = await this.#db.selectFrom('audit_events').select('id').where('chain_pending', 'is not', null).limit(1).executeTakeFirst();
      if (waiting) this.poke();
    } catch {
      // The database is away; the next sweep looks again.
    }
  }
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

/** `chainer`: where the dialect links entries after commit (PostgreSQL), the store's one. */
/**
 * An audit entry whose detail carries a number only the writing statement knows (the new
 * generation, the quota's count): `entry` is asked for it with a mark that no id or count is ever,
 * and the detail's JSON, as it will be stored and hashed (undefined members dropped, dates as
 * strings), is cut around that mark for the statement to write the number between the two halves.
 */
export function entryAroundNumber<E extends { detail?: unknown }>(entry: (n: number) => E, what: string): { event: E; head: string; tail: string } {
  const event = entry(NUMBER_MARK);
  const parts = JSON.stringify(event.detail).split(String(NUMBER_MARK));
  if (parts.length !== 2) throw new Error(`${what}: the entry must carry the number once`);
  return { event, head: parts[0]!, tail: parts[1]! };
}

const NUMBER_MARK = Number.MIN_SAFE_INTEGER;

export function auditRepo(db: Kysely<DB>, d: SqlDialect, chainer: AuditChainer | null = null): AuditRepo {
  return {
    async append(e, outgoing) {
      const own = !db.isTransaction;
      await inTransaction(db, async (trx) => {
        if (chainer) {
          await appendPending(trx, e);
          chainer.appended++;
        } else {
          await appendChained(trx, d, e);
        }
        if (outgoing) await enqueueOutgoing(trx, outgoing satisfies OutgoingEvent);
      });
      // In a transaction of its own (a failed login): committed now. In the caller's: the store pokes after its COMMIT.
      if (own) chainer?.poke();
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
    async settle() {
      await chainer?.settle();
    },
    async countUnchained() {
      const r = await db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('seq', 'is', null)
        .where('chain_pending', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async headSeq() {
      // What this node appended is linked first (milliseconds): a reader here sees its own writes.
      await chainer?.flush();
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
        let head = await chainHead(trx);
        // Entries waiting for their link are linked first: the cut never removes one unlinked.
        if (chainer) for (let linked = -1; linked !== 0; ) ({ head, linked } = await linkPending(trx, head));
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
          .where((eb) => eb.or([eb('seq', '<', keptFromSeq), eb.and([eb('seq', 'is', null), eb('chain_pending', 'is', null), eb('at', '<', before)])]))
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
