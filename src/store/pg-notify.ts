/**
 * Cross-node cache invalidation on PostgreSQL: the change bus of every node, bridged through
 * LISTEN/NOTIFY on one channel of the shared database (a revocation takes effect on
 * every node within the documented bound).
 *
 * - Local changes (published on this node's bus after a commit) go out with NOTIFY, through the
 *   ordinary pool, tagged with this node's id.
 * - A dedicated client (LISTEN needs one session that stays open; pooled clients come and go)
 *   receives every node's notifications; those of other nodes are delivered on the local bus
 *   with `remote: true`, and never sent out again, so nothing echoes between nodes.
 * - When the database goes away the listener reconnects with capped exponential backoff, and it
 *   pings its session so a half-open TCP connection is noticed. Notifications sent while a
 *   node was not listening are lost to it: its cache entries still expire within the staleness
 *   bound, which is why that bound, not this bridge, is the documented guarantee.
 *
 * Only src/store/dialect.ts uses this module.
 */
import { randomUUID } from 'node:crypto';
import type { Change, ChangeBus, ChangeKind } from '../core/changes.ts';
import { PgListener, type PgListenSettings } from './pg-listen.ts';

export const CHANGES_CHANNEL = 'tokend_changes';

/** NOTIFY payloads must stay under 8000 bytes; ids are split into several messages below this. */
const MAX_PAYLOAD = 7000;
/**
 * Kinds are checked by shape, not against a list: a kind added to core/changes.ts travels without
 * an edit here, and nodes of different versions during a rolling upgrade still pass it on.
 */
const KIND_SHAPE = /^[a-z][a-z_]{0,39}$/;

export interface ChangeBridge {
  /** Resolves once every NOTIFY already handed to the bridge has been sent, then disconnects. */
  stop(): Promise<void>;
}

export const noChangeBridge: ChangeBridge = { stop: async () => {} };

interface WireChange {
  /** Id of the node that published it. */
  o: string;
  k: ChangeKind;
  i: string[];
  /** When the sender published it (its clock, ms): receivers measure the delivery lag. */
  t?: number;
}

/** Splits a change into payloads that each fit in one NOTIFY. */
export function encodeChange(origin: string, change: Change): string[] {
  const out: string[] = [];
  let ids: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (ids.length) out.push(JSON.stringify({ o: origin, k: change.kind, i: ids, t: Date.now() } satisfies WireChange));
    ids = [];
    size = 0;
  };
  for (const id of change.ids) {
    const cost = Buffer.byteLength(JSON.stringify(id)) + 1;
    if (size + cost > MAX_PAYLOAD) flush();
    ids.push(id);
    size += cost;
  }
  flush();
  return out;
}

/** Parses a payload; anything that is not a well-formed change from tokend is ignored (null). */
export function decodeChange(payload: string | undefined): WireChange | null {
  if (!payload || payload.length > 8000) return null;
  try {
    const v = JSON.parse(payload) as Partial<WireChange>;
    if (typeof v.o !== 'string' || typeof v.k !== 'string' || !KIND_SHAPE.test(v.k) || !Array.isArray(v.i)) return null;
    if (!v.i.every((id) => typeof id === 'string')) return null;
    return { o: v.o, k: v.k as ChangeKind, i: v.i, ...(typeof v.t === 'number' && Number.isFinite(v.t) ? { t: v.t } : {}) };
  } catch {
    return null;
  }
}

export interface PgChangeBridgeOptions extends PgListenSettings {
  bus: ChangeBus;
  /** Sends one NOTIFY on the channel (through the pool). */
  notify(channel: string, payload: string): Promise<void>;
}

export class PgChangeBridge implements ChangeBridge {
  /** This node's id in payloads: random per process, so two processes never mistake each other. */
  readonly nodeId: string = randomUUID();
  readonly #o: PgChangeBridgeOptions;
  readonly #pending = new Set<Promise<void>>();
  /** Changes published in this turn of the event loop, not yet sent: ids by kind. */
  readonly #queued = new Map<ChangeKind, Set<string>>();
  readonly #listener: PgListener;
  #flushing = false;
  /** NOTIFYs sent and not yet answered: changes published meanwhile wait for them. */
  #sending = false;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;

  constructor(options: PgChangeBridgeOptions) {
    this.#o = options;
    this.#listener = new PgListener({
      ...options,
      channel: CHANGES_CHANNEL,
      lostMessage: 'lost the LISTEN connection; changes from other nodes arrive by cache expiry until it is back',
      retryMessage: 'cannot LISTEN for changes yet; retrying',
      onNotification: (payload) => this.#deliver(payload),
      onListening: (attempts) => {
        if (attempts > 0) options.log?.info({ attempts }, 'listening for changes from other nodes again');
      },
    });
  }

  /** True while the LISTEN session is up. */
  get listening(): boolean {
    return this.#listener.listening;
  }

  /**
   * Subscribes to the local bus and opens the LISTEN session. A database that does not answer
   * now does not fail the start: the bridge keeps trying in the background.
   */
  async start(): Promise<this> {
    this.#unsubscribe = this.#o.bus.subscribe((change) => {
      // Remote changes came from the database; sending them back would echo between nodes forever.
      if (change.remote || this.#stopped) return;
      this.#publish(change);
    });
    await this.#listener.start();
    return this;
  }

  /**
   * Queues a change; the changes published in one turn of the event loop go out together, one
   * NOTIFY per kind (ids merged), after it. Under load many commits land in the same turn (a
   * refresh changes its session: one NOTIFY each was a round trip and a pooled connection per
   * refresh, bench/RESULTS.md); alone, a change waits for nothing but the end of the turn.
   */
  #publish(change: Change): void {
    let ids = this.#queued.get(change.kind);
    if (!ids) this.#queued.set(change.kind, (ids = new Set()));
    for (const id of change.ids) ids.add(id);
    // While NOTIFYs are on their way, what is published joins the next batch, sent when they are
    // answered: under a steady load of refreshes (each changes its session) few finish in the
    // same turn, and a NOTIFY per turn was still most of one round trip per refresh.
    if (this.#flushing || this.#sending) return;
    this.#flushing = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushing = false;
    if (this.#queued.size === 0) return;
    const queued = [...this.#queued];
    this.#queued.clear();
    const sends: Promise<void>[] = [];
    for (const [kind, ids] of queued) {
      for (const payload of encodeChange(this.nodeId, { kind, ids: [...ids] })) {
        const p = this.#o.notify(CHANGES_CHANNEL, payload).catch((err: unknown) => {
          // The revocation is committed; other nodes' cache entries for it expire within the bound.
          this.#o.log?.warn({ err, kind, count: ids.size }, 'could not notify other nodes of a change');
        });
        this.#pending.add(p);
        void p.finally(() => this.#pending.delete(p));
        sends.push(p);
      }
    }
    this.#sending = true;
    void Promise.all(sends).then(() => {
      this.#sending = false;
      if (!this.#flushing) this.#flush();
    });
  }

  #deliver(payload: string | undefined): void {
    const change = decodeChange(payload);
    if (!change || change.o === this.nodeId) return;
    this.#o.bus.publish({ kind: change.k, ids: change.i, remote: true, ...(change.t !== undefined ? { sentAt: change.t } : {}) });
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    // Pending NOTIFYs first: a CLI command that revoked something must tell the servers before it exits.
    while (this.#queued.size || this.#pending.size || this.#sending) {
      if (this.#queued.size && !this.#sending) this.#flush();
      await Promise.allSettled([...this.#pending]);
      // The batch queued behind them is sent by the callback of their answers, a microtask away.
      await Promise.resolve();
    }
    this.#stopped = true;
    await this.#listener.stop();
  }
}
