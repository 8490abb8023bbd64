/**
 * Revocations pushed to resource servers (the SDK's local JWT verifier): read from the audit
 * log's hash chain, which every node writes in the transaction of the revocation. Its `seq` is a
 * gap-free order shared by all nodes, so a stream is a cursor over it: any node serves any
 * client, a client resumes after the last `seq` it saw (`Last-Event-ID`) without missing one,
 * and a revocation made anywhere (another node, the CLI beside a SQLite server) is seen within
 * one poll.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoredChainEntry } from '../audit-chain.ts';
import type { Store } from '../ports.ts';

/** What was revoked, named as an access JWT names it: `sid`, `client_id` (the Access Key), `sub`. */
export interface Revocation {
  seq: number;
  at: number;
  /** session: every token of the session (`sid`); key: every token made with the key (`client_id`); account: every token of the account (`sub`); api_token: the API token (by id). */
  kind: 'session' | 'key' | 'account' | 'api_token';
  id: string;
  accountId: number | null;
}

const TYPES = ['session.revoked', 'session.reuse_detected', 'service_key.revoked', 'api_token.revoked', 'account.disabled'] as const;

export function revocationOf(e: StoredChainEntry): Revocation | null {
  const base = { seq: e.seq, at: e.at, accountId: e.accountId };
  switch (e.type) {
    case 'session.revoked':
    case 'session.reuse_detected':
      return e.sessionId ? { ...base, kind: 'session', id: e.sessionId } : null;
    case 'service_key.revoked':
      return typeof e.detail.accessKey === 'string' ? { ...base, kind: 'key', id: e.detail.accessKey } : null;
    case 'api_token.revoked':
      return typeof e.detail.id === 'string' ? { ...base, kind: 'api_token', id: e.detail.id } : null;
    case 'account.disabled':
      return e.accountId !== null ? { ...base, kind: 'account', id: String(e.accountId) } : null;
    default:
      return null;
  }
}

const PAGE = 500;

export class RevocationFeed {
  readonly #store: Store;
  readonly #pollMs: number;

  constructor(deps: { store: Store; pollMs: number }) {
    this.#store = deps.store;
    this.#pollMs = deps.pollMs;
  }

  /**
   * One page of revocations after `from` (as `follow` reads it), for clients that poll: the page
   * and the seq to resume after. From now (neither given): nothing yet, and the head to start from.
   */
  async page(from: { afterSeq?: number; sinceAt?: number }, limit: number): Promise<{ items: Revocation[]; lastSeq: number }> {
    const head = await this.#store.audit.headSeq();
    if (from.afterSeq === undefined && from.sinceAt === undefined) return { items: [], lastSeq: head };
    const entries = await this.#store.audit.feed(from.afterSeq ?? 0, TYPES, limit, from.afterSeq === undefined ? from.sinceAt : undefined);
    const items = entries.map(revocationOf).filter((r): r is Revocation => r !== null);
    // A full page resumes after its last entry; a short one has seen everything up to the head read first.
    const lastSeq = entries.length === limit ? entries[entries.length - 1]!.seq : Math.max(head, entries.at(-1)?.seq ?? 0, from.afterSeq ?? 0);
    return { items, lastSeq };
  }

  /**
   * Calls `emit` with every revocation after `from` until `signal` aborts: after seq `afterSeq`
   * when given (a resumed stream), else those at or after `sinceAt` (a new verifier catching up
   * on tokens still alive), else only new ones. `emit` may wait (backpressure).
   */
  async follow(
    from: { afterSeq?: number; sinceAt?: number },
    emit: (r: Revocation) => Promise<void>,
    signal: AbortSignal,
    /** Called once the catch-up is sent: from here on, revocations as they happen. */
    onLive?: () => void,
  ): Promise<void> {
    const send = async (page: StoredChainEntry[]): Promise<void> => {
      for (const e of page) {
        const r = revocationOf(e);
        if (r && !signal.aborted) await emit(r);
      }
    };
    let cursor = from.afterSeq ?? (await this.#store.audit.headSeq());
    if (from.afterSeq === undefined && from.sinceAt !== undefined) {
      // Catching up, by time, on what was revoked up to the head read above; then on from there.
      const head = cursor;
      let after = 0;
      for (;;) {
        const page = (await this.#store.audit.feed(after, TYPES, PAGE, from.sinceAt)).filter((e) => e.seq <= head);
        await send(page);
        if (page.length < PAGE) break;
        after = page[page.length - 1]!.seq;
      }
    }
    onLive?.();
    while (!signal.aborted) {
      const page = await this.#store.audit.feed(cursor, TYPES, PAGE);
      await send(page);
      if (page.length > 0) cursor = page[page.length - 1]!.seq;
      if (page.length < PAGE) await sleep(this.#pollMs, undefined, { signal }).catch(() => {});
    }
  }
}
