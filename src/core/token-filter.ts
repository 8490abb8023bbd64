/**
 * The API-token filter: the fingerprints (first 64 bits of the SHA-256) of every stored API token,
 * in memory, so that a check of a token that was never issued ends here instead of in storage.
 * v3 and l3 tokens are 32 random hex characters with no checksum, so without it every random or
 * mistyped one cost a cache miss and a database read.
 *
 * It never turns a stored token away:
 * - It holds every stored token, whatever its status: revoked, replaced and expired ones answer
 *   differently from unknown ones (introspection's `reason`, token usage, metrics), so they must
 *   still be found. Nothing leaves it while the process runs; tokens deleted with their account
 *   stay until the next start (a stale entry costs a storage read, never a wrong answer).
 * - Until it has loaded (at start, and again after the feed of other writers broke), every
 *   candidate goes to storage as before.
 * - Tokens created on this node enter it inside their transaction, before anyone can know them.
 * - Tokens created elsewhere (another node, the CLI beside the server) arrive through the store's
 *   insert feed. A candidate the filter does not hold is refused only once the feed has proven
 *   that every insert committed before the check began has reached the filter (`barrier`); a feed
 *   that cannot prove it (down, reconnecting) sends the candidate to storage. So a token created
 *   on node A is accepted on node B at once, however late B would otherwise hear of it.
 *
 * A random candidate matches a stored fingerprint with probability n / 2^64 (n stored tokens):
 * such a false positive only costs the storage read every candidate cost before.
 */
import { FingerprintSet } from './fingerprint-set.ts';

/**
 * One page of the load: the stored hashes greater than `after` (from the first when null), up to
 * `limit` of them in ascending order, given as what the filter keeps of each, its fingerprint (its
 * first 16 hex characters), all of them joined into one string. One string a page instead of a row
 * a token: a load of a million tokens leaves a few hundred strings to collect, not a million rows,
 * whose garbage held 40 MiB of heap after start.
 */
export interface FingerprintPage {
  /** The fingerprints of the page, 16 characters each, in no particular order. */
  packed: string;
  /** How many hashes the page holds (fewer than `limit`: it is the last). */
  count: number;
  /** The greatest hash of the page (the next page's `after`); null when the page is empty. */
  last: string | null;
}

/** Where the filter loads from: every stored API token's hash, in pages (src/store). */
export interface ApiTokenHashSource {
  pageFingerprints(after: string | null, limit: number): Promise<FingerprintPage>;
  /** How many API tokens are stored: the table is sized for them before the load, instead of doubling through it. */
  countHashes(): Promise<number>;
}

/** What a feed tells the filter. */
export interface InsertSink {
  /** API tokens stored by another writer: their hashes, or at least their first 16 hex characters. */
  added(hashes: readonly string[]): void;
  /** Inserts may have been missed (the feed broke): the filter stops refusing until it has reloaded. */
  lost(): void;
  /** The feed delivers again (after `lost`): the filter reloads. */
  resumed(): void;
}

/**
 * How a node hears of API tokens other writers store, and proves it has heard of all of them
 * (src/store: LISTEN/NOTIFY on PostgreSQL, SQLite's data version on SQLite).
 */
export interface InsertFeed {
  /** Starts delivering to `sink`; resolves once inserts committed from now on will be delivered. */
  start(sink: InsertSink): Promise<void>;
  /**
   * True once every insert committed before this call has been delivered to the sink; false when
   * that cannot be shown now (the caller then asks storage). Synchronous when it can be.
   */
  barrier(): boolean | Promise<boolean>;
  stop(): Promise<void>;
}

export interface ApiTokenFilterStats {
  state: 'off' | 'loading' | 'ready';
  entries: number;
  bytes: number;
  /** Duration of the last complete load, ms (NaN before the first). */
  loadMs: number;
  /** Candidates refused without storage since start. */
  refused: number;
}

/** Hashes a page of the load: its packed string (80 KB) stays below V8's large-object size, so it dies young. */
const PAGE = 5_000;
const RELOAD_RETRY_MS = 5_000;

export class ApiTokenFilter {
  #set: FingerprintSet | null = null;
  /** The set a reload fills; live additions go to both. */
  #next: FingerprintSet | null = null;
  #feed: InsertFeed | null = null;
  #state: 'off' | 'loading' | 'ready' = 'off';
  #loads = 0;
  #loadMs = Number.NaN;
  #refused = 0;
  #stopped = false;
  #log: ((msg: string, detail: Record<string, unknown>) => void) | undefined;

  /** Holds no token until started: every candidate goes to storage. */
  constructor(options: { log?: (msg: string, detail: Record<string, unknown>) => void } = {}) {
    this.#log = options.log;
  }

  get stats(): ApiTokenFilterStats {
    return { state: this.#state, entries: this.#set?.size ?? 0, bytes: (this.#set?.bytes ?? 0) + (this.#next?.bytes ?? 0), loadMs: this.#loadMs, refused: this.#refused };
  }

  /**
   * Follows the feed, then loads every stored hash. Resolves when the first load is done; checks
   * meanwhile go to storage. A failed load leaves the filter off (storage answers) and rejects.
   */
  async start(source: ApiTokenHashSource, feed: InsertFeed): Promise<void> {
    this.#feed = feed;
    await feed.start({
      added: (hashes) => {
        for (const h of hashes) this.#add(h);
      },
      lost: () => {
        if (this.#state === 'ready') this.#state = 'loading';
        this.#loads++;
      },
      resumed: () => this.#reload(source),
    });
    await this.#load(source);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#state = 'off';
    this.#set = null;
    this.#next = null;
    await this.#feed?.stop();
  }

  /** A token stored by this node: called in its transaction, before the token is shown to anyone. */
  add(hash: string): void {
    this.#add(hash);
  }

  /**
   * False only when no stored API token can have this hash; true (ask storage) otherwise.
   * Synchronous on the common paths: a stored fingerprint, or a feed in step.
   */
  mayExist(hash: string): boolean | Promise<boolean> {
    const set = this.#set;
    if (this.#state !== 'ready' || set === null) return true;
    if (set.has(hash)) return true;
    const proof = this.#feed!.barrier();
    if (proof === true) return this.#refuse();
    if (proof === false) return true;
    return proof.then(
      (ok) => !ok || this.#state !== 'ready' || this.#set!.has(hash) || this.#refuse(),
      () => true,
    );
  }

  #refuse(): false {
    this.#refused++;
    return false;
  }

  #add(hash: string): void {
    this.#set?.add(hash);
    this.#next?.add(hash);
  }

  /** Loads again after the feed broke; a load that fails is tried again (storage answers meanwhile). */
  #reload(source: ApiTokenHashSource): void {
    this.#load(source).catch((error: unknown) => {
      this.#log?.('API-token filter reload failed; retrying', { err: error });
      if (this.#stopped) return;
      const retry = setTimeout(() => this.#reload(source), RELOAD_RETRY_MS);
      retry.unref();
    });
  }

  async #load(source: ApiTokenHashSource): Promise<void> {
    const load = ++this.#loads;
    const started = performance.now();
    // Sized once: growing by doubling through a million tokens leaves the outgrown tables (8 MiB
    // and less) with the allocator, about 8 MiB of RSS that a table made to size never takes.
    const next = new FingerprintSet(await source.countHashes());
    this.#next = next;
    this.#set ??= new FingerprintSet();
    if (this.#state === 'off') this.#state = 'loading';
    try {
      let after: string | null = null;
      for (;;) {
        if (this.#stopped || load !== this.#loads) return;
        const page = await source.pageFingerprints(after, PAGE);
        next.addPacked(page.packed);
        if (page.count < PAGE || page.last === null) break;
        after = page.last;
      }
    } catch (error) {
      // Storage answers every candidate until a load completes.
      if (load === this.#loads) this.#next = null;
      throw error;
    }
    // A newer load (the feed broke again meanwhile) owns the outcome.
    if (this.#stopped || load !== this.#loads) return;
    this.#set = next;
    this.#next = null;
    this.#state = 'ready';
    this.#loadMs = performance.now() - started;
    this.#log?.('API-token filter loaded', { tokens: next.size, bytes: next.bytes, ms: Math.round(this.#loadMs) });
  }
}
