/**
 * The verification cache: what a token check read from the database, kept in memory for a short,
 * bounded time so that the hottest call tokend serves is usually a hash and a map lookup.
 *
 * Correctness rests on two things:
 * - Staleness is bounded by `ttlMs` (TOKEND_VERIFY_CACHE_TTL, default 5 s; 0 turns caching off):
 *   an entry older than that is never served, so a revocation made elsewhere (another node, or
 *   the CLI beside a running server) takes effect within the bound (docs/operations.md).
 * - Changes on this node (and on others, once the store bridges the bus) arrive through
 *   core.changes and drop the affected entries at once. Entries are tagged with what they depend
 *   on (`session:<id>`, `account:<id>`, `api_token:<id>`, …). A lookup that was in flight while an
 *   invalidation arrived is not cached (it may have read the row just before the change).
 *
 * Entries hold what the database said, not a verdict: expiry is judged against the clock on every
 * use, so a cached token still expires on the millisecond.
 */
import type { ChangeBus, ChangeKind } from './changes.ts';
import type { Clock } from './clock.ts';

export interface VerifyCacheOptions {
  ttlMs: number;
  maxEntries: number;
  clock: Clock;
  /** Told whether each lookup hit (metrics); lookups are not counted while the cache is off. */
  onLookup?: (hit: boolean) => void;
}

interface Entry<V> {
  value: V;
  at: number;
  /** When the entry last moved to the recent end of the eviction order. */
  bumped: number;
  tags: readonly string[];
}

/** The tag of a record kind and id, as published on core.changes. */
export function cacheTag(kind: ChangeKind, id: string | number): string {
  return `${kind}:${id}`;
}

export class VerifyCache<V> {
  readonly #options: VerifyCacheOptions;
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the least recently used.
  readonly #entries = new Map<string, Entry<V>>();
  readonly #byTag = new Map<string, Set<string>>();
  #epoch = 0;

  readonly #bumpEvery: number;

  constructor(options: VerifyCacheOptions) {
    this.#options = options;
    this.#bumpEvery = options.ttlMs / 4;
  }

  get enabled(): boolean {
    return this.#options.ttlMs > 0 && this.#options.maxEntries > 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Taken before a database lookup and handed to `set`, so a lookup that raced an invalidation is not cached. */
  epoch(): number {
    return this.#epoch;
  }

  /** The cached value, or undefined when absent or older than the staleness bound. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const age = this.#options.clock.now() - entry.at;
    if (age < 0 || age >= this.#options.ttlMs) {
      this.#delete(key, entry);
      return undefined;
    }
    // Recency is kept to a quarter of the staleness bound: moving an entry to the recent end is a
    // Map delete and insert, which a hot token would otherwise pay on every check. Eviction (only
    // under size pressure) still takes entries unused for the longest, to within that quarter.
    if (age - (entry.bumped - entry.at) > this.#bumpEvery) {
      entry.bumped = entry.at + age;
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry.value;
  }

  /**
   * The read-through every token lookup uses: a fresh entry, or `load(key)` stored under
   * `tagsOf(value)`. A lookup that raced an invalidation is returned but not kept, and nothing is
   * kept for an unknown key (null): random garbage would only push real entries out.
   * `load` and `tagsOf` should be made once, not per call: the hit path then allocates nothing.
   */
  getOrLoad(key: string, load: (key: string) => Promise<V | null>, tagsOf: (value: V) => readonly string[]): Promise<V | null> {
    const found = this.lookup(key, load, tagsOf);
    return found instanceof Promise ? found : Promise.resolve(found);
  }

  /**
   * `getOrLoad` for a hot path: a fresh entry is returned as it is, not in a promise (a token
   * check that hits the cache then awaits nothing); a promise only when `load` runs. `V` must not
   * be a promise itself.
   */
  lookup(key: string, load: (key: string) => Promise<V | null>, tagsOf: (value: V) => readonly string[]): V | Promise<V | null> {
    const cached = this.get(key);
    if (this.enabled) this.#options.onLookup?.(cached !== undefined);
    if (cached !== undefined) return cached;
    return this.#load(key, load, tagsOf);
  }

  async #load(key: string, load: (key: string) => Promise<V | null>, tagsOf: (value: V) => readonly string[]): Promise<V | null> {
    const epoch = this.#epoch;
    const found = await load(key);
    if (found !== null) this.set(key, found, tagsOf(found), epoch);
    return found;
  }

  set(key: string, value: V, tags: readonly string[], epochAtLookup: number): void {
    if (!this.enabled || epochAtLookup !== this.#epoch) return;
    const old = this.#entries.get(key);
    if (old) this.#delete(key, old);
    const now = this.#options.clock.now();
    this.#entries.set(key, { value, at: now, bumped: now, tags });
    for (const tag of tags) {
      let keys = this.#byTag.get(tag);
      if (!keys) this.#byTag.set(tag, (keys = new Set()));
      keys.add(key);
    }
    while (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#delete(oldest.value, this.#entries.get(oldest.value)!);
    }
  }

  /** Drops every entry tagged `tag`. */
  invalidate(tag: string): void {
    this.#epoch++;
    const keys = this.#byTag.get(tag);
    if (!keys) return;
    for (const key of [...keys]) {
      const entry = this.#entries.get(key);
      if (entry) this.#delete(key, entry);
    }
    this.#byTag.delete(tag);
  }

  clear(): void {
    this.#epoch++;
    this.#entries.clear();
    this.#byTag.clear();
  }

  #delete(key: string, entry: Entry<V>): void {
    this.#entries.delete(key);
    for (const tag of entry.tags) {
      const keys = this.#byTag.get(tag);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) this.#byTag.delete(tag);
    }
  }

  /** Invalidates on every change published on the bus (local or bridged from other nodes). Returns the unsubscribe. */
  follow(changes: ChangeBus): () => void {
    return changes.subscribe((change) => {
      for (const id of change.ids) this.invalidate(cacheTag(change.kind, id));
    });
  }
}
