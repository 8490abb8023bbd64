/**
 * How a node hears of API tokens that other writers store, for the API-token filter
 * (src/core/token-filter.ts), and how it proves it has heard of all of them.
 *
 * SQLite (one server and, beside it, the CLI on the same file): `PRAGMA data_version` changes
 * on this connection exactly when another connection committed. While it has not changed, the
 * filter is in step; when it has, the tokens whose (time-ordered) ids fall after the last catch-up,
 * less a margin for transactions in flight, are read by the primary-key index and added. The
 * checks of one turn of the event loop share one pragma; a catch-up happens only after another
 * process wrote.
 *
 * PostgreSQL (several nodes): every insert into api_tokens notifies `tokend_api_tokens` with the
 * hash's first 16 hex characters, by a trigger (migration 0012), in the inserting transaction:
 * whoever inserts (any node, any version, the CLI), the notification is sent at its commit and
 * PostgreSQL delivers notifications in commit order. A barrier is this node's own notification on
 * the same channel, sent after the check began: once it comes back on the LISTEN session, every
 * insert committed before has come back too. Concurrent barriers share one round trip. Whenever
 * the LISTEN session is down, or was replaced since the filter loaded, there is no proof and the
 * check goes to storage; after a reconnection the filter reloads.
 */
import { randomUUID } from 'node:crypto';
import type { InsertFeed, InsertSink } from '../core/token-filter.ts';
import { PgListener, type PgListenSettings } from './pg-listen.ts';

export const API_TOKENS_CHANNEL = 'tokend_api_tokens';

/** How far before the last catch-up a token's id may lie and still commit after it (a slow transaction, a small clock step). */
const CATCH_UP_MARGIN_MS = 10 * 60_000;
/** Catch-ups one barrier runs before it gives up proving and lets storage answer (another process writing without pause). */
const MAX_CATCH_UPS = 3;

/** The smallest UUIDv7-shaped string of millisecond `ms`, and the largest. */
export function uuidTimeBound(ms: number, end: 'floor' | 'ceiling'): string {
  const t = Math.max(0, Math.min(ms, 2 ** 48 - 1)).toString(16).padStart(12, '0');
  const rest = end === 'floor' ? '0000-0000-000000000000' : 'ffff-ffff-ffffffffffff';
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-${rest}`;
}

export interface SqliteInsertFeedOptions {
  /** `PRAGMA data_version` of the connection the checks read through. */
  dataVersion(): number;
  /** Hashes of the tokens whose ids are in [from, to). */
  hashesBetween(from: string, to: string): Promise<string[]>;
  now?: () => number;
}

export class SqliteInsertFeed implements InsertFeed {
  readonly #o: SqliteInsertFeedOptions;
  #sink: InsertSink | null = null;
  #version = Number.NaN;
  #since = 0;
  #catching: Promise<void> | null = null;
  #batch: Promise<boolean> | null = null;

  constructor(options: SqliteInsertFeedOptions) {
    this.#o = options;
  }

  async start(sink: InsertSink): Promise<void> {
    this.#sink = sink;
    this.#version = this.#o.dataVersion();
    this.#since = this.#now();
  }

  barrier(): boolean | Promise<boolean> {
    if (this.#sink === null) return false;
    // The pragma opens a read transaction (file locks: as dear as a lookup), so the checks waiting
    // in one turn of the event loop share one reading, taken after all of them began.
    return (this.#batch ??= new Promise<boolean>((resolve) => {
      setImmediate(() => {
        this.#batch = null;
        resolve(this.#o.dataVersion() === this.#version || this.#prove());
      });
    }));
  }

  async stop(): Promise<void> {
    this.#sink = null;
  }

  async #prove(): Promise<boolean> {
    for (let i = 0; i < MAX_CATCH_UPS; i++) {
      try {
        await (this.#catching ??= this.#catchUp().finally(() => (this.#catching = null)));
      } catch {
        return false;
      }
      if (this.#sink === null) return false;
      // The version read before the catch-up's query: unchanged now means nothing committed since.
      if (this.#o.dataVersion() === this.#version) return true;
    }
    return false;
  }

  async #catchUp(): Promise<void> {
    const version = this.#o.dataVersion();
    const at = this.#now();
    const hashes = await this.#o.hashesBetween(uuidTimeBound(this.#since - CATCH_UP_MARGIN_MS, 'floor'), uuidTimeBound(at + CATCH_UP_MARGIN_MS, 'ceiling'));
    if (this.#sink === null) return;
    this.#sink.added(hashes);
    this.#version = version;
    this.#since = at;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}

export interface PgInsertFeedOptions extends PgListenSettings {
  /** Sends one NOTIFY on the channel (through the pool). */
  notify(channel: string, payload: string): Promise<void>;
  /** A barrier not back within this long proves nothing (storage answers). */
  barrierTimeoutMs?: number;
}

interface Barrier {
  payload: string;
  promise: Promise<boolean>;
  settle(ok: boolean): void;
  sent: boolean;
}

export class PgInsertFeed implements InsertFeed {
  readonly #o: PgInsertFeedOptions;
  readonly #nodeId = randomUUID();
  /** Its session number is bumped whenever the session is replaced: a barrier proves nothing across two sessions. */
  readonly #listener: PgListener;
  #sink: InsertSink | null = null;
  #stopped = false;
  #seq = 0;
  #inFlight: Barrier | null = null;
  #next: Barrier | null = null;

  constructor(options: PgInsertFeedOptions) {
    this.#o = options;
    this.#listener = new PgListener({
      ...options,
      channel: API_TOKENS_CHANNEL,
      lostMessage: 'lost the LISTEN connection for API-token inserts; unknown API tokens are looked up in the database until it is back',
      retryMessage: 'cannot LISTEN for API-token inserts yet; retrying',
      onNotification: (payload, session) => this.#deliver(payload, session),
      // The first session is in place before the filter loads; one after a failed try or a lost
      // session, in between which inserts may have gone unheard, makes the filter load again.
      onListening: (attempts) => {
        if (attempts > 0) this.#sink?.resumed();
      },
      onLost: () => {
        this.#failBarriers();
        this.#sink?.lost();
      },
    });
  }

  get listening(): boolean {
    return this.#listener.listening;
  }

  /** Opens the LISTEN session; a database that does not answer now is tried again in the background. */
  async start(sink: InsertSink): Promise<void> {
    this.#sink = sink;
    await this.#listener.start();
  }

  barrier(): boolean | Promise<boolean> {
    if (!this.#listener.listening || this.#stopped) return false;
    // One round trip at a time; a check that arrives while one is out waits for the next, which
    // is sent after it arrived (the one out may have been sent before its token's commit).
    if (this.#inFlight === null) return this.#send(this.#newBarrier()).promise;
    this.#next ??= this.#newBarrier();
    return this.#next.promise;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#sink = null;
    this.#failBarriers();
    await this.#listener.stop();
  }

  #newBarrier(): Barrier {
    let settle!: (ok: boolean) => void;
    const promise = new Promise<boolean>((resolve) => (settle = resolve));
    return { payload: `b:${this.#nodeId}:${++this.#seq}`, promise, settle, sent: false };
  }

  #send(barrier: Barrier): Barrier {
    this.#inFlight = barrier;
    barrier.sent = true;
    const session = this.#listener.session;
    const timer = setTimeout(() => this.#finish(barrier, false), this.#o.barrierTimeoutMs ?? 2_000);
    timer.unref();
    void barrier.promise.then(() => clearTimeout(timer));
    this.#o.notify(API_TOKENS_CHANNEL, barrier.payload).then(
      () => {
        if (session !== this.#listener.session) this.#finish(barrier, false);
      },
      () => this.#finish(barrier, false),
    );
    return barrier;
  }

  #finish(barrier: Barrier, ok: boolean): void {
    barrier.settle(ok);
    if (this.#inFlight !== barrier) return;
    this.#inFlight = null;
    const next = this.#next;
    this.#next = null;
    if (next) {
      if (!this.#listener.listening || this.#stopped) next.settle(false);
      else this.#send(next);
    }
  }

  #failBarriers(): void {
    const inFlight = this.#inFlight;
    const next = this.#next;
    this.#inFlight = null;
    this.#next = null;
    inFlight?.settle(false);
    next?.settle(false);
  }

  #deliver(payload: string | undefined, session: number): void {
    if (!payload || session !== this.#listener.session) return;
    if (payload.startsWith('a:')) {
      const fingerprint = payload.slice(2);
      if (/^[0-9a-f]{16}$/.test(fingerprint)) this.#sink?.added([fingerprint]);
      return;
    }
    const barrier = this.#inFlight;
    if (barrier !== null && payload === barrier.payload) this.#finish(barrier, true);
  }
}
