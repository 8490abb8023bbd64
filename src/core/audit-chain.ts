/**
 * The audit log's hash chain (docs/audit.md): each entry carries the hash of the one before, so
 * that altering, inserting or removing an entry anywhere breaks every link after it.
 *
 * hash(n) = SHA-256( canonical({seq, at, type, accountId, sessionId, address, detail, prevHash}) )
 *
 * The canonical encoding is JSON with object keys sorted at every depth and no whitespace. For
 * values that came from JSON (a stored entry is parsed back before it is hashed) this is RFC 8785
 * (JSON Canonicalization Scheme): ECMAScript's number and string serialisation is the one JCS
 * prescribes, so an entry hashes the same when written and when verified, on any node.
 */
import { createHash } from 'node:crypto';

/** The hash a chain's first entry points back to. */
export const GENESIS_HASH = '0'.repeat(64);

/** What the chain covers of an entry: everything but its storage id. */
export interface ChainedFields {
  seq: number;
  at: number;
  type: string;
  accountId: number | null;
  sessionId: string | null;
  address: string | null;
  detail: Record<string, unknown>;
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const out = JSON.stringify(value);
    // undefined and functions have no JSON form; inside an object they are left out like JSON does.
    return out === undefined ? 'null' : out;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  // Every audited write hashes an entry: one string built as the keys go, no arrays of entries.
  // The default sort orders strings by UTF-16 code units, as JCS requires.
  const object = value as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(object).sort()) {
    const v = object[key];
    if (v === undefined || typeof v === 'function') continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(v)}`;
  }
  return `${out}}`;
}

export function chainHash(entry: ChainedFields, prevHash: string): string {
  const encoded = canonicalJson({
    seq: entry.seq,
    at: entry.at,
    type: entry.type,
    accountId: entry.accountId,
    sessionId: entry.sessionId,
    address: entry.address,
    detail: entry.detail,
    prevHash,
  });
  return createHash('sha256').update(encoded, 'utf8').digest('hex');
}

/** A chained entry as stored. */
export interface StoredChainEntry extends ChainedFields {
  id: number;
  prevHash: string;
  hash: string;
}

/** The detail of a retention cut's checkpoint entry: where the kept chain starts. */
export interface RetentionCut {
  /** The first seq kept (entries below it were deleted). */
  keptFromSeq: number;
  /** The prev_hash of the entry at keptFromSeq: the hash of the last deleted entry. */
  keptFromPrevHash: string;
  deleted: number;
  before: number;
}

export const RETENTION_CUT_TYPE = 'audit.retention_cut';

export type ChainVerdict =
  | { ok: true; entries: number; firstSeq: number | null; lastSeq: number | null; lastHash: string | null }
  | { ok: false; brokenAt: { id: number; seq: number }; reason: string; entries: number };

/**
 * Walks entries in seq order and judges each link. The first entry must be the genesis (seq 1,
 * prev hash of zeros) or the start a retention cut recorded: the last checkpoint in the chain
 * must name that seq and prev hash, so deleting entries at the start is found too.
 */
export class ChainVerifier {
  #count = 0;
  #first: StoredChainEntry | null = null;
  #last: StoredChainEntry | null = null;
  #lastCut: RetentionCut | null = null;
  #broken: { id: number; seq: number; reason: string } | null = null;

  /** Feeds the next entry (ascending seq); false once the chain is broken (stop feeding). */
  push(e: StoredChainEntry): boolean {
    if (this.#broken) return false;
    this.#count++;
    const prev = this.#last;
    if (prev === null) {
      this.#first = e;
      if (e.seq === 1 && e.prevHash !== GENESIS_HASH) return this.#break(e, 'the first entry does not start from the genesis hash');
    } else {
      if (e.seq !== prev.seq + 1) return this.#break(e, `entry seq ${prev.seq + 1} is missing`);
      if (e.prevHash !== prev.hash) return this.#break(e, 'its previous hash is not the hash of the entry before it');
    }
    if (chainHash(e, e.prevHash) !== e.hash) return this.#break(e, 'its contents do not match its hash');
    if (e.type === RETENTION_CUT_TYPE) this.#lastCut = e.detail as unknown as RetentionCut;
    this.#last = e;
    return true;
  }

  verdict(): ChainVerdict {
    if (this.#broken) return { ok: false, brokenAt: { id: this.#broken.id, seq: this.#broken.seq }, reason: this.#broken.reason, entries: this.#count };
    const first = this.#first;
    if (first && first.seq !== 1) {
      const cut = this.#lastCut;
      if (!cut || cut.keptFromSeq !== first.seq || cut.keptFromPrevHash !== first.prevHash) {
        return { ok: false, brokenAt: { id: first.id, seq: first.seq }, reason: 'entries before it are missing and no retention cut records their removal', entries: this.#count };
      }
    }
    return { ok: true, entries: this.#count, firstSeq: first?.seq ?? null, lastSeq: this.#last?.seq ?? null, lastHash: this.#last?.hash ?? null };
  }

  #break(e: StoredChainEntry, reason: string): false {
    this.#broken = { id: e.id, seq: e.seq, reason };
    return false;
  }
}
