/**
 * One LISTEN session on PostgreSQL that stays up: the dedicated client LISTEN needs (pooled
 * clients come and go), reconnection with capped exponential backoff, and a ping so that a
 * half-open TCP connection is noticed. The change bridge (pg-notify.ts) and the API-token insert
 * feed (token-feeds.ts) each keep one and say what a notification, a lost session and a new one
 * mean to them.
 */
import type pg from 'pg';
import type { StoreLog } from './db-clock.ts';

/** What the owner of a session passes through from its own options. */
export interface PgListenSettings {
  /** Opens a new, unconnected client for the LISTEN session. */
  newClient(): pg.Client;
  log?: StoreLog;
  /** Backoff between reconnection attempts: from `minBackoffMs`, doubling, up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often the session is pinged to notice a dead connection. */
  pingIntervalMs?: number;
}

export interface PgListenerOptions extends PgListenSettings {
  channel: string;
  /** Logged (warn) when the session is lost, and when the first attempt to open one fails. */
  lostMessage: string;
  retryMessage: string;
  /** A notification on the channel, with the number of the session it came on. */
  onNotification(payload: string | undefined, session: number): void;
  /**
   * A session is up. `attempts`: the tries since the last session was up, 0 for a first session
   * opened at the first try; more means notifications may have been missed in between.
   */
  onListening?(attempts: number): void;
  /** The session was lost (not called after stop). */
  onLost?(): void;
}

export class PgListener {
  readonly #o: PgListenerOptions;
  #client: pg.Client | null = null;
  /** Bumped whenever the session is replaced or lost: notifications of an older one are told apart. */
  #session = 0;
  #stopped = false;
  #attempt = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #connecting: Promise<void> | null = null;

  constructor(options: PgListenerOptions) {
    this.#o = options;
  }

  /** True while the session is up. */
  get listening(): boolean {
    return this.#client !== null;
  }

  /** The number of the current session (notifications carry the one they came on). */
  get session(): number {
    return this.#session;
  }

  /** Opens the session; a database that does not answer now is tried again in the background. */
  async start(): Promise<void> {
    await this.#connect();
    this.#pingTimer = setInterval(() => this.#ping(), this.#o.pingIntervalMs ?? 15_000);
    this.#pingTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    await this.#connecting?.catch(() => {});
    const client = this.#client;
    this.#client = null;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
    }
  }

  #connect(): Promise<void> {
    if (this.#connecting) return this.#connecting;
    this.#connecting = this.#open().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #open(): Promise<void> {
    if (this.#stopped) return;
    const client = this.#o.newClient();
    const session = this.#session + 1;
    // Without an 'error' listener a dropped connection would be an uncaught exception: a crash.
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, null));
    client.on('notification', (msg) => {
      if (msg.channel === this.#o.channel) this.#o.onNotification(msg.payload, session);
    });
    try {
      await client.connect();
      await client.query(`listen ${this.#o.channel}`);
    } catch (err) {
      client.removeAllListeners('end');
      client.end().catch(() => {});
      this.#scheduleReconnect(err);
      return;
    }
    if (this.#stopped) {
      await client.end().catch(() => {});
      return;
    }
    const attempts = this.#attempt;
    this.#session = session;
    this.#client = client;
    this.#attempt = 0;
    this.#o.onListening?.(attempts);
  }

  #lost(client: pg.Client, err: unknown): void {
    if (this.#client !== client) return;
    this.#client = null;
    this.#session++;
    client.removeAllListeners('end');
    client.end().catch(() => {});
    if (this.#stopped) return;
    this.#o.onLost?.();
    this.#o.log?.warn({ err }, this.#o.lostMessage);
    this.#scheduleReconnect(null);
  }

  #scheduleReconnect(err: unknown): void {
    if (this.#stopped || this.#reconnectTimer) return;
    const min = this.#o.minBackoffMs ?? 100;
    const max = this.#o.maxBackoffMs ?? 5000;
    const delay = Math.min(max, min * 2 ** Math.min(this.#attempt, 16));
    this.#attempt++;
    if (err && this.#attempt === 1) this.#o.log?.warn({ err }, this.#o.retryMessage);
    // Jitter: nodes that lost the database together do not all come back in the same millisecond.
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#connect();
    }, delay / 2 + Math.random() * (delay / 2));
    this.#reconnectTimer.unref();
  }

  #ping(): void {
    const client = this.#client;
    if (!client || this.#stopped) return;
    // A half-open connection (a database host that vanished without a FIN) stays silent forever;
    // a query that does not answer in time is treated as a lost connection.
    const timeout = setTimeout(() => this.#lost(client, new Error('LISTEN connection ping timed out')), 10_000);
    timeout.unref();
    client.query('select 1').then(
      () => clearTimeout(timeout),
      (err: unknown) => {
        clearTimeout(timeout);
        this.#lost(client, err);
      },
    );
  }
}
