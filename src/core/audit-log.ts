/**
 * The audit log's hash chain as a whole: proving it, reading it in chain order, and cutting it for
 * retention (docs/audit.md). Filtered pages and the operator's export are AuditLog's (audit.ts).
 */
import { ChainVerifier, type ChainVerdict, type RetentionCut, type StoredChainEntry } from './audit-chain.ts';
import type { Clock } from './clock.ts';
import type { Store } from './ports.ts';

const PAGE = 1000;

export type VerifyReport = ChainVerdict & {
  /** Entries written before the chain began: outside it, not proven. */
  unchained: number;
};

export class AuditChain {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(deps: { store: Store; clock: Clock }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
  }

  /** Every chained entry, in chain order, a page at a time. */
  async *entries(): AsyncGenerator<StoredChainEntry> {
    let after = 0;
    for (;;) {
      const page = await this.#store.audit.chainPage(after, PAGE);
      for (const e of page) yield e;
      if (page.length < PAGE) return;
      after = page[page.length - 1]!.seq;
    }
  }

  /** Walks the whole chain; names the first entry whose link is broken. */
  async verify(): Promise<VerifyReport> {
    await this.#store.audit.settle();
    const verifier = new ChainVerifier();
    for await (const e of this.entries()) if (!verifier.push(e)) break;
    return { ...verifier.verdict(), unchained: await this.#store.audit.countUnchained() };
  }

  /** Deletes entries older than `retentionMs` and records the cut in the chain; null when none were. */
  async applyRetention(retentionMs: number, address: string | null): Promise<RetentionCut | null> {
    if (retentionMs <= 0) return null;
    const now = this.#clock.now();
    return this.#store.audit.cut(now - retentionMs, now, address);
  }
}
