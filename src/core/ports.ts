/**
 * What core needs from storage: a small set of repositories with atomic operations whose
 * semantics are spelled out here. src/store implements them over Kysely for SQLite and
 * PostgreSQL; test/store.conformance.test.ts holds both to the same contract.
 */
import type { Account, AccountStatus, App, AuditEvent, Session, SessionKind } from './model.ts';

export interface NewAccount {
  /** Only the demo seed picks its numeric id (SPEC 3.4: the l3 demo token names account 29078). */
  id?: number;
  uid: string;
  email: string;
  passwordHash: string;
  name: string | null;
  isDemo: boolean;
  createdAt: number;
}

export interface AccountRepo {
  /** Inserts; returns null when the (normalised) email is taken. */
  insert(account: NewAccount): Promise<Account | null>;
  findById(id: number): Promise<Account | null>;
  findByEmail(email: string): Promise<(Account & { passwordHash: string }) | null>;
  setStatus(id: number, status: AccountStatus): Promise<boolean>;
}

export interface AppRepo {
  insert(app: { appId: string; accountId: number; name: string; createdAt: number }): Promise<App | null>;
  findByAppId(appId: string): Promise<App | null>;
  listByAccount(accountId: number): Promise<App[]>;
}

export interface NewSession {
  id: string;
  accountId: number;
  kind: SessionKind;
  clientId: string;
  scope: string;
  createdAt: number;
  expiresAt: number;
}

export interface TokenRow {
  hash: string;
  sessionId: string;
  generation: number;
  createdAt: number;
  expiresAt: number;
}

export interface AccessLookup {
  token: TokenRow;
  session: Session;
  accountStatus: AccountStatus;
}

export interface RefreshLookup {
  token: TokenRow & { rotatedAt: number | null };
  session: Session;
  accountStatus: AccountStatus;
}

export interface SessionRepo {
  insert(session: NewSession): Promise<Session>;
  insertAccessToken(token: TokenRow): Promise<void>;
  insertRefreshToken(token: TokenRow): Promise<void>;
  /** One indexed lookup: the access token by hash with its session and account status. */
  findAccess(hash: string): Promise<AccessLookup | null>;
  findRefresh(hash: string): Promise<RefreshLookup | null>;
  /**
   * Marks the refresh token rotated if and only if it is not yet: the single arbiter of
   * "exactly one of N concurrent refreshes wins". Returns true for the one winner.
   */
  claimRefresh(hash: string, now: number): Promise<boolean>;
  /** Moves the session to the next generation; every older access token dies with it. */
  advance(sessionId: string, fromGeneration: number): Promise<boolean>;
  /** Revokes if not revoked yet; returns true when this call revoked it. */
  revoke(sessionId: string, now: number, reason: string): Promise<boolean>;
  revokeByAccount(accountId: number, now: number, reason: string): Promise<string[]>;
  revokeByClient(clientId: string, now: number, reason: string): Promise<string[]>;
  listActiveByAccount(accountId: number, now: number): Promise<Session[]>;
}

export interface CounterRepo {
  /**
   * Adds one to the counter of (scope, window) unless it has reached `limit`; atomic against
   * concurrent callers (one statement). Returns the new count, or null when the limit was reached.
   */
  incrementBelow(scope: string, windowStart: number, limit: number, expiresAt: number): Promise<number | null>;
  /** Adds one unconditionally; returns the new count. */
  increment(scope: string, windowStart: number, expiresAt: number): Promise<number>;
  get(scope: string, windowStart: number): Promise<number>;
  purgeExpired(now: number): Promise<number>;
}

export interface AuditFilter {
  accountId?: number;
  type?: string;
  before?: number;
  limit: number;
}

export interface AuditRepo {
  append(event: Omit<AuditEvent, 'id'>): Promise<void>;
  list(filter: AuditFilter): Promise<AuditEvent[]>;
}

export interface Repos {
  accounts: AccountRepo;
  apps: AppRepo;
  sessions: SessionRepo;
  counters: CounterRepo;
  audit: AuditRepo;
}

export interface Store extends Repos {
  /**
   * Runs `fn` in one write transaction: everything in it lands or nothing does. Retries on
   * transient conflicts (SQLITE_BUSY, serialization failures, deadlocks), so `fn` must be
   * free of side effects outside the store. A returned value commits; a throw rolls back.
   */
  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T>;
  /** Cheap liveness probe of the database, for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /** 'sqlite' or 'postgres', for display only: nothing branches on it outside src/store. */
  readonly kind: string;
}
