/**
 * What core needs from storage: a small set of repositories with atomic operations whose
 * semantics are spelled out here. src/store implements them over Kysely for SQLite and
 * PostgreSQL; test/store.conformance.test.ts holds both to the same contract.
 */
import type {
  Account,
  AccountStatus,
  ApiToken,
  ApiTokenFormat,
  ApiTokenStatus,
  App,
  AuditEvent,
  ConsoleSession,
  OperatorKey,
  ResourceServer,
  ServiceAccount,
  ServiceAccountStatus,
  ServiceKey,
  Session,
  SessionKind,
  SigningKeyRecord,
  JwtAlgorithm,
} from './model.ts';
import type { AuditContext } from './audit.ts';
import type { RetentionCut, StoredChainEntry } from './audit-chain.ts';
import type { OutgoingEvent } from './events/catalog.ts';
import type { FingerprintPage } from './token-filter.ts';
import type { LeakRepo, WebhookRepo } from './events/ports.ts';
import type { StoredCredits } from './policies/credits.ts';
import type { PolicyRules, Subject } from './policies/rules.ts';

export interface NewAccount {
  /** Only the demo seed picks its numeric id (the published l3 demo token names account 29078). */
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
  /** Newest first; `beforeId` pages; `emailContains` filters (lower-case substring), `email` exactly, `status` by status. */
  list(filter: AccountListFilter): Promise<Account[]>;
  /**
   * Changes the name and/or the (normalised) email. Returns the account after, null when there is
   * no such account, or 'email_taken' when another account has that email (nothing changed).
   */
  update(id: number, changes: { name?: string | null; email?: string }): Promise<Account | null | 'email_taken'>;
  setPasswordHash(id: number, passwordHash: string): Promise<boolean>;
  /**
   * Deletes the account and everything it owns (apps, service accounts and their keys, API tokens,
   * sessions and their tokens, policies, console sign-ins, reset links); the audit log stays.
   * Returns what was removed, for change notifications, or null when there is no such account.
   */
  deleteCascade(id: number): Promise<DeletedAccount | null>;
}

export interface AccountListFilter {
  limit: number;
  beforeId?: number;
  emailContains?: string;
  email?: string;
  status?: AccountStatus;
}

export interface DeletedAccount {
  sessionIds: string[];
  apiTokenIds: string[];
  serviceAccountIds: number[];
  serviceKeyIds: number[];
  /** `<kind>:<id>` keys of the policies removed. */
  policySubjects: string[];
}

/** One page of a list ordered by numeric id, oldest first: `afterId` is the last id of the previous page. */
export interface IdPage {
  limit: number;
  afterId?: number;
}

export interface AppRepo {
  insert(app: { appId: string; accountId: number; name: string; createdAt: number }): Promise<App | null>;
  findByAppId(appId: string): Promise<App | null>;
  listByAccount(accountId: number): Promise<App[]>;
  /** One page of an account's apps, oldest first (by id). */
  pageByAccount(accountId: number, page: IdPage): Promise<App[]>;
  /** Renames; false when there is no such app. */
  rename(appId: string, name: string): Promise<boolean>;
  /** Deletes the app's row (its sessions and policy are the caller's business); false when there was none. */
  delete(appId: string): Promise<boolean>;
  /**
   * Inside a transaction: the app, held until the transaction ends against a concurrent `delete`
   * (which waits, then finds what this transaction wrote). A login takes it before it starts a
   * session, so that a deletion either sees the new session (and revokes it) or came first (and
   * this returns null).
   */
  holdForUse(appId: string): Promise<App | null>;
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

/** A refresh's rotation (SessionRepo.rotate): the token claimed and the pair of the next generation. */
export interface Rotation {
  hash: string;
  sessionId: string;
  fromGeneration: number;
  now: number;
  access: { hash: string; createdAt: number; expiresAt: number };
  refresh: { hash: string; createdAt: number; expiresAt: number };
}

/** A rotation without the token read first (SessionRepo.rotateUnread). */
export interface UnreadRotation {
  hash: string;
  kind: SessionKind;
  now: number;
  access: { hash: string; ttlMs: number };
  refresh: { hash: string; ttlMs: number };
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
  /**
   * A refresh's whole write when everything holds, as one step: claims the refresh token (not
   * rotated, not expired at `now`, of generation `fromGeneration`), moves its session from that
   * generation to the next (the session not revoked, not expired, its account active), stores the
   * next pair and appends `entry` to the audit log. False when a condition failed: no pair and no
   * entry are stored (the caller reads to tell why). Where the dialect has data-modifying WITH
   * (PostgreSQL) it is one statement, atomic by itself, so Store.write runs it without BEGIN and
   * COMMIT; elsewhere its statements run in the caller's transaction.
   */
  rotate(r: Rotation, entry: Omit<AuditEvent, 'id'>): Promise<boolean>;
  /**
   * `rotate` for a refresh token not read first (where Store.rotatesUnread): the token of `hash`,
   * if alive and of a session of `kind`, with the pair's ends capped by the session's end and the
   * entry written for the session's account and id, its detail `entry(new generation)`'s. The
   * session at its new generation and when the rotated token was issued; else whether a token of
   * that hash exists at all (an unknown one is answered without another read).
   */
  rotateUnread(r: UnreadRotation, entry: (generation: number) => Omit<AuditEvent, 'id'>): Promise<{ ok: true; session: Session; issuedAt: number } | { ok: false; known: boolean }>;
  /** Revokes if not revoked yet; returns true when this call revoked it. */
  revoke(sessionId: string, now: number, reason: string): Promise<boolean>;
  revokeByAccount(accountId: number, now: number, reason: string): Promise<string[]>;
  revokeByClient(clientId: string, now: number, reason: string): Promise<string[]>;
  listActiveByAccount(accountId: number, now: number): Promise<Session[]>;
  /**
   * One page of an account's live sessions, newest first (created_at, then id, both descending):
   * `before` is the last item of the previous page. Each carries when it was last refreshed.
   */
  listActivePage(accountId: number, now: number, page: { limit: number; before?: SessionCursor }): Promise<SessionListItem[]>;
  countActive(accountId: number, now: number): Promise<number>;
  findById(sessionId: string): Promise<Session | null>;
}

export interface SessionCursor {
  createdAt: number;
  id: string;
}

export interface SessionListItem extends Session {
  /** When its current pair was issued by a refresh; null while it has never been refreshed. */
  lastRefreshAt: number | null;
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
  /** Adds `amount` unconditionally (batched counts flushed from memory); returns the new count. */
  add(scope: string, windowStart: number, amount: number, expiresAt: number): Promise<number>;
  /** Adds to many counters in one statement (all or none): a batch of counts flushed from memory. */
  addMany(rows: readonly { scope: string; windowStart: number; amount: number; expiresAt: number }[]): Promise<void>;
  /** Every window of `scope` starting at or after `fromWindowStart`, oldest first. */
  series(scope: string, fromWindowStart: number): Promise<{ windowStart: number; count: number }[]>;
  /** Per window starting at or after `fromWindowStart`, oldest first: the sum over every scope that starts with `prefix`. */
  seriesSum(prefix: string, fromWindowStart: number): Promise<{ windowStart: number; count: number }[]>;
  /** Per scope that starts with `prefix`: its sum over the windows starting at or after `fromWindowStart`. */
  sumsByScope(prefix: string, fromWindowStart: number): Promise<{ scope: string; count: number }[]>;
  purgeExpired(now: number): Promise<number>;
}

/** One figure of the operator dashboard to add to (src/core/traffic.ts). */
export interface TrafficRow {
  /** 60000 (a minute) or 3600000 (an hour). */
  bucketMs: number;
  bucketStart: number;
  series: string;
  /** '' for the instance's series; an account or a token for the top lists. */
  subject: string;
  amount: number;
  expiresAt: number;
}

/** The operator dashboard's figures per minute and hour, added to by every node. */
export interface TrafficRepo {
  /** Adds to many rows in one statement (all or none). The rows of one call have distinct keys. */
  addMany(rows: readonly TrafficRow[]): Promise<void>;
  /**
   * The instance's series (subject '') of buckets of `bucketMs` starting at or after `from`, summed
   * into groups of `groupMs` (a multiple of `bucketMs`, aligned to the Unix epoch), oldest first.
   */
  series(bucketMs: number, groupMs: number, from: number): Promise<{ start: number; series: string; count: number }[]>;
  /** The `limit` subjects of `series` with the largest sums over the buckets starting at or after `from`, largest first. */
  top(bucketMs: number, series: string, from: number, limit: number): Promise<{ subject: string; count: number }[]>;
  purgeExpired(now: number): Promise<number>;
}

export interface AuditFilter {
  accountId?: number;
  type?: string;
  before?: number;
  limit: number;
}

/** Where a page of the audit log ends: the last entry sent (time, then id, break ties). */
export interface AuditCursor {
  at: number;
  id: number;
}

/** The operator's audit query: filters, a direction and a keyset page. */
export interface AuditQuery {
  accountId?: number;
  type?: string;
  /** Entries at or after this time (Unix ms). */
  since?: number;
  /** Entries before this time (Unix ms, exclusive). */
  until?: number;
  /** `desc`: newest first (the list); `asc`: oldest first (the export). By time, then id. */
  order: 'asc' | 'desc';
  /** The last entry of the previous page: the page goes on past it in `order`. */
  after?: AuditCursor;
  limit: number;
}

export interface AuditRepo {
  /**
   * Appends the event to the hash chain (src/core/audit-chain.ts): concurrent writers, on every
   * node, link one after another, in the transaction or (PostgreSQL) a moment after it commits
   * (docs/audit.md). Outside a transaction it opens one of its own. With `outgoing`, the webhook message and a delivery to every matching endpoint
   * are written with it; an `outgoing` whose id is already in the outbox adds nothing.
   */
  append(event: Omit<AuditEvent, 'id'>, outgoing?: OutgoingEvent | null): Promise<void>;
  list(filter: AuditFilter): Promise<AuditEvent[]>;
  /** One page of the log by the operator's filters (src/store/migrations/0009_admin_indexes.ts serves them). */
  query(query: AuditQuery): Promise<AuditEvent[]>;
  /** Chained entries with seq above `afterSeq`, ascending, at most `limit`. */
  chainPage(afterSeq: number, limit: number): Promise<StoredChainEntry[]>;
  /** Links every committed entry still waiting for its link (see append), so that a proof or a cut covers it. */
  settle(): Promise<void>;
  /** Entries written before the chain began (no seq). */
  countUnchained(): Promise<number>;
  /** The seq of the chain's last entry (0 before the first). */
  headSeq(): Promise<number>;
  /** Chained entries of `types` with seq above `afterSeq` (and `at` at or after `sinceAt`), ascending, at most `limit`. */
  feed(afterSeq: number, types: readonly string[], limit: number, sinceAt?: number): Promise<StoredChainEntry[]>;
  /**
   * Retention: deletes the entries older than `before` (a prefix of the chain, and unchained ones)
   * and appends a checkpoint entry that records where the kept chain starts, in one transaction.
   * Null when nothing was old enough.
   */
  cut(before: number, now: number, address: string | null): Promise<RetentionCut | null>;
}

export interface ConsoleSessionRepo {
  insert(session: ConsoleSession): Promise<void>;
  /** By SHA-256 of the cookie token. */
  find(id: string): Promise<ConsoleSession | null>;
  /** Records activity (for the idle timeout); callers throttle it, it is not a write per request. */
  touch(id: string, now: number): Promise<void>;
  revoke(id: string, now: number): Promise<boolean>;
  /** Revokes the account's live sign-ins, all but `exceptId` when given; returns how many. */
  revokeByAccount(accountId: number, now: number, exceptId?: string): Promise<number>;
  purgeExpired(now: number): Promise<number>;
}

export interface NewApiToken {
  id: string;
  accountId: number;
  format: ApiTokenFormat;
  /** SHA-256 (hex) of the whole token as the client sends it; the token itself is never stored. */
  hash: string;
  hint: string;
  label: string | null;
  createdAt: number;
  expiresAt: number | null;
}

export interface ApiTokenCursor {
  createdAt: number;
  id: string;
}

/** What a token check needs, in one indexed read: the token by hash with its account. */
export interface ApiTokenLookup {
  token: ApiToken;
  accountUid: string;
  accountStatus: AccountStatus;
}

export interface ApiTokenRepo {
  /** Inserts; returns false when a token with this hash already exists (the demo seed relies on it). */
  insert(token: NewApiToken): Promise<boolean>;
  /** By SHA-256 of the token (unique index): the hot path. */
  findByHash(hash: string): Promise<ApiTokenLookup | null>;
  findById(id: string): Promise<ApiToken | null>;
  /** Newest first, revoked and replaced ones included. */
  listByAccount(accountId: number): Promise<ApiToken[]>;
  /**
   * One page of an account's tokens, newest first (created_at, then id, both descending): `before`
   * is the last item of the previous page; `status` keeps the tokens `apiTokenStatus` (core/api-tokens.ts)
   * puts in that status at `now`.
   */
  pageByAccount(accountId: number, page: { limit: number; before?: ApiTokenCursor; status?: ApiTokenStatus; now: number }): Promise<ApiToken[]>;
  /** Revokes if not revoked yet; returns true when this call revoked it. */
  revoke(id: string, now: number, reason: string): Promise<boolean>;
  /**
   * Marks a token replaced by `replacedBy` and ends it at `until` (the grace period), if and only
   * if it is neither revoked nor replaced yet: the arbiter of concurrent rotations (one wins).
   */
  retire(id: string, replacedBy: string, until: number): Promise<boolean>;
  /** Makes a revoked, replaced or expired token live again, without expiry (the demo's published tokens only). */
  reinstate(id: string): Promise<boolean>;
  /** Revokes every live token of an account; returns their ids. */
  revokeByAccount(accountId: number, now: number, reason: string): Promise<string[]>;
  /** Batched `last used` times from memory; never moves a time backwards. */
  touchLastUsed(entries: readonly { id: string; at: number }[]): Promise<void>;
  /** One page of the API-token filter's load (FingerprintPage, src/core/token-filter.ts). */
  pageFingerprints(after: string | null, limit: number): Promise<FingerprintPage>;
  /** How many tokens are stored (live or not: every hash the pages of `pageFingerprints` cover). */
  countHashes(): Promise<number>;
  /** Hashes of the tokens whose id is in [`fromId`, `toId`): with time-ordered ids, those created in a span of time. */
  hashesWithIdsBetween(fromId: string, toId: string): Promise<string[]>;
}

export interface ResourceServerRepo {
  insert(server: ResourceServer & { hash: string }): Promise<void>;
  findByHash(hash: string): Promise<ResourceServer | null>;
  list(): Promise<ResourceServer[]>;
  revoke(id: string, now: number): Promise<boolean>;
}

/** Secrets of the instance itself (the generated admin token), by name; hashes only. */
export interface InstanceSecretRepo {
  /** Inserts unless the name exists; returns true when this call inserted (the one that prints it). */
  insertIfAbsent(name: string, hash: string, createdAt: number): Promise<boolean>;
  getHash(name: string): Promise<string | null>;
}

export interface NewServiceAccount {
  accountId: number;
  name: string;
  actions: string[];
  createdAt: number;
}

export interface ServiceAccountRepo {
  insert(serviceAccount: NewServiceAccount): Promise<ServiceAccount>;
  findById(id: number): Promise<ServiceAccount | null>;
  /** Oldest first. */
  listByAccount(accountId: number): Promise<ServiceAccount[]>;
  /** One page of an account's service accounts, oldest first (by id). */
  pageByAccount(accountId: number, page: IdPage): Promise<ServiceAccount[]>;
  /** Renames; false when there is no such service account. */
  rename(id: number, name: string): Promise<boolean>;
  /** Sets the status if it differs; returns true when this call changed it. */
  setStatus(id: number, status: ServiceAccountStatus): Promise<boolean>;
  /** Replaces the allowed actions; returns false when there is no such service account. */
  setActions(id: number, actions: readonly string[]): Promise<boolean>;
  /**
   * Records a use if and only if the service account is active. Being a write, it takes the row's
   * lock: a concurrent disable either waits for the caller's transaction (and then revokes the
   * session it started) or has committed first (and this returns false).
   */
  claimUse(id: number, now: number): Promise<boolean>;
}

export interface NewServiceKey {
  serviceAccountId: number;
  accessKey: string;
  /** SHA-256 (hex) of the Secret Key; the secret itself is never stored. */
  secretHash: string;
  secretHint: string;
  createdAt: number;
  expiresAt: number | null;
}

/** A key by its Access Key, with what creating tokens needs to know, in one indexed read. */
export interface ServiceKeyLookup {
  key: ServiceKey;
  secretHash: string;
  serviceAccount: ServiceAccount;
  accountStatus: AccountStatus;
}

export interface ServiceKeyRepo {
  /** Inserts; returns null when the Access Key (or the secret's hash) is taken (the demo seed relies on it). */
  insert(key: NewServiceKey): Promise<ServiceKey | null>;
  findById(id: number): Promise<ServiceKey | null>;
  findByAccessKey(accessKey: string): Promise<ServiceKeyLookup | null>;
  /** Oldest first, revoked ones included. */
  listByServiceAccount(serviceAccountId: number): Promise<ServiceKey[]>;
  /** The keys of several service accounts in one read, by service account then oldest first. */
  listByServiceAccounts(serviceAccountIds: readonly number[]): Promise<ServiceKey[]>;
  /** Revokes if not revoked yet; returns true when this call revoked it. */
  revoke(id: number, now: number): Promise<boolean>;
  /** Makes a revoked or expired key live again, without expiry (the demo's published key only). */
  reinstate(id: number): Promise<boolean>;
  /** Records a use if and only if the key is neither revoked nor expired at `now` (a write: the row lock orders it against revoke). */
  claimUse(id: number, now: number): Promise<boolean>;
  /**
   * A token creation's whole write when everything holds, as one step: claims the service account
   * (active) and the key (neither revoked nor expired at `now`) as their `claimUse` do, takes one
   * unit of the daily quota as CounterRepo.incrementBelow does, starts the session with its first
   * pair and appends `entry(units used)` to the audit log. The quota's count when all of it was
   * written; null when a condition failed: no session and no entry are stored (when only the quota
   * was exhausted, the two uses are recorded, as the creation that finds it exhausted records them)
   * and the caller runs the creation again in a transaction to tell why. One statement where the
   * dialect has data-modifying WITH (PostgreSQL), run by Store.write without BEGIN and COMMIT.
   */
  startSession(c: ServiceStart, entry: (quotaUsed: number) => Omit<AuditEvent, 'id'>): Promise<number | null>;
}

/** What ServiceKeyRepo.startSession writes. */
export interface ServiceStart {
  serviceAccountId: number;
  keyId: number;
  now: number;
  quota: { scope: string; windowStart: number; limit: number; expiresAt: number };
  session: NewSession;
  access: { hash: string; createdAt: number; expiresAt: number };
  refresh: { hash: string; createdAt: number; expiresAt: number };
}

export interface SigningKeyRepo {
  insert(key: SigningKeyRecord): Promise<void>;
  /** Every stored key, by activation time then kid (the order that decides which key signs). */
  list(): Promise<SigningKeyRecord[]>;
  /** Raises the key's longest token lifetime to `ttlMs` if it is lower (never lowers it). */
  raiseMaxTokenTtl(kid: string, ttlMs: number): Promise<void>;
  /** Deletes keys that may no longer verify any live token; returns how many. */
  delete(kids: readonly string[]): Promise<number>;
}

/** The rules of one subject as stored, with its credit balance (null without a credits rule). */
export interface PolicyRecord {
  subject: Subject;
  accountId: number;
  rules: PolicyRules;
  credits: StoredCredits | null;
  updatedAt: number;
}

export interface PolicyRepo {
  /** Inserts or replaces the subject's rules; the credit balance is set to `credits` (a PUT sets it). */
  put(record: PolicyRecord): Promise<void>;
  get(subject: Subject): Promise<PolicyRecord | null>;
  /** Removes the subject's rules; true when there were some. */
  delete(subject: Subject): Promise<boolean>;
  /** Every stored policy: only subjects with rules have a row, and every node holds them all in memory. */
  list(): Promise<PolicyRecord[]>;
  /** The policies of an account's subjects (its own and its tokens', keys' and apps'). */
  listByAccount(accountId: number): Promise<PolicyRecord[]>;
  /**
   * Subtracts `used` credits spent in refill period `period`, in one statement, never below zero:
   * a period older than the stored one is ignored (a refill since made it moot), a newer one
   * refills to `refillAmount` first. Returns the balance after, or null when the subject has no credits.
   */
  spendCredits(subject: Subject, period: number, used: number, refillAmount: number | null): Promise<StoredCredits | null>;
  /**
   * `spendCredits` for many subjects in as few statements as it can (one per chunk of subjects, a
   * subject at most once per statement): the balances after, in the order given.
   */
  spendCreditsMany(spends: readonly CreditSpend[]): Promise<(StoredCredits | null)[]>;
}

/** One subject's spent credits of one refill period, as a flush writes them. */
export interface CreditSpend {
  subject: Subject;
  period: number;
  used: number;
  refillAmount: number | null;
}

export interface OperatorKeyRepo {
  insert(key: OperatorKey & { hash: string }): Promise<void>;
  /** By SHA-256 of the key (unique index). */
  findByHash(hash: string): Promise<OperatorKey | null>;
  findById(id: string): Promise<OperatorKey | null>;
  /** Newest first, revoked and expired ones included. */
  list(): Promise<OperatorKey[]>;
  /** Revokes if not revoked yet; returns true when this call revoked it. */
  revoke(id: string, now: number): Promise<boolean>;
  /** Batched `last used` times from memory; never moves a time backwards. */
  touchLastUsed(entries: readonly { id: string; at: number }[]): Promise<void>;
}

/** A remembered answer to an `Idempotency-Key` (docs/admin-api.md). */
export interface IdempotencyRecord {
  requestHash: string;
  state: 'in_progress' | 'done';
  status: number | null;
  /** The answer's body as stored (sealed by the caller). */
  response: string | null;
  createdAt: number;
}

export interface IdempotencyRepo {
  /**
   * Claims (credential, key) for a request: a record created before `drop.expiredBefore`, or an
   * `in_progress` one created before `drop.staleClaimBefore` (its request never answered), is
   * dropped, then an `in_progress` one is inserted unless one exists (the primary key decides). Returns null when this
   * call claimed it (run the request), else the record that holds it (replay or refuse).
   */
  claim(
    record: { credential: string; key: string; requestHash: string; createdAt: number },
    drop: { expiredBefore: number; staleClaimBefore: number },
  ): Promise<IdempotencyRecord | null>;
  /** Stores the answer of a claimed key and marks it done. */
  complete(credential: string, key: string, status: number, response: string): Promise<void>;
  /** Forgets a claim whose request did not finish (a failure worth retrying). */
  release(credential: string, key: string): Promise<void>;
  purgeExpired(expiredBefore: number): Promise<number>;
}

export interface PasswordResetRepo {
  /** `id` is the SHA-256 of the one-time token. */
  insert(reset: { id: string; accountId: number; createdAt: number; expiresAt: number }): Promise<void>;
  /**
   * Uses the reset if and only if it is unused and not expired at `now` (one statement: of N
   * concurrent uses exactly one wins). Returns its account id, or null.
   */
  consume(id: string, now: number): Promise<number | null>;
  /** Ends every unused reset of the account (its password was just set). */
  revokeByAccount(accountId: number, now: number): Promise<number>;
  purgeExpired(now: number): Promise<number>;
}

export interface Repos {
  operatorKeys: OperatorKeyRepo;
  idempotency: IdempotencyRepo;
  passwordResets: PasswordResetRepo;
  consoleSessions: ConsoleSessionRepo;
  accounts: AccountRepo;
  apps: AppRepo;
  sessions: SessionRepo;
  counters: CounterRepo;
  traffic: TrafficRepo;
  audit: AuditRepo;
  apiTokens: ApiTokenRepo;
  resourceServers: ResourceServerRepo;
  instanceSecrets: InstanceSecretRepo;
  serviceAccounts: ServiceAccountRepo;
  serviceKeys: ServiceKeyRepo;
  signingKeys: SigningKeyRepo;
  policies: PolicyRepo;
  webhooks: WebhookRepo;
  leaks: LeakRepo;
}

const ROLLBACK: unique symbol = Symbol('tokend.rollback');

/** A transaction's outcome that undoes its writes: see `rollback`. */
export interface Rollback<T> {
  readonly [ROLLBACK]: true;
  readonly value: T;
}

/**
 * Returned from a transaction's function: nothing it wrote lands, and `transaction` returns
 * `value`. Transactions decide on values: an expected refusal discovered half-way (a lost race, a
 * row claimed by someone else) is an outcome, not an exception thrown only to roll back.
 */
export function rollback<T>(value: T): Rollback<T> {
  return { [ROLLBACK]: true, value };
}

export function isRollback(value: unknown): value is Rollback<unknown> {
  return typeof value === 'object' && value !== null && ROLLBACK in value;
}

export interface Store extends Repos {
  /**
   * Runs `fn` in one write transaction: everything in it lands or nothing does. Retries on
   * transient conflicts (SQLITE_BUSY, serialization failures, deadlocks), so `fn` must be
   * free of side effects outside the store. A returned value commits; a returned
   * `rollback(value)` rolls back and returns `value`; a throw rolls back and rethrows.
   */
  transaction<T>(fn: (tx: Repos) => Promise<T | Rollback<T>>): Promise<T>;
  /**
   * Runs `fn`, which makes one write through one repository method that is atomic by itself
   * where the dialect runs it as one statement (SessionRepo.rotate): there (PostgreSQL) with no
   * BEGIN and COMMIT around it, each of which is a round trip with the session held; elsewhere
   * as `transaction` does (SQLite: in a group commit). Answered once durable, retried like a
   * transaction. `fn` must make no other write.
   */
  write<T>(fn: (tx: Repos) => Promise<T>): Promise<T>;
  /**
   * Reads made ahead of a write transaction that decides: the lookup before a refresh, whose
   * result only prepares the transaction (the next pair is minted from it) or refuses at once a
   * token that is not there. SQLite: not held behind a pending sync of the log, as every other
   * read outside a transaction is (docs/operations.md); nothing read here may be answered as a
   * success. PostgreSQL: the same read as `sessions.findRefresh`.
   */
  readonly readAhead: Pick<SessionRepo, 'findRefresh'>;
  /**
   * Whether a refresh may skip the read ahead (SessionRepo.rotateUnread in Store.write):
   * PostgreSQL, where that is one statement and the read is a round trip of its own. SQLite: no;
   * its read costs no round trip and keeps an unknown token out of the writer's queue.
   */
  readonly rotatesUnread: boolean;
  /** Cheap liveness probe of the database, for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /** 'sqlite' or 'postgres', for display only: nothing branches on it outside src/store. */
  readonly kind: string;
}

// --- signing ---------------------------------------------------------------------------------
// What core needs of JWT signing, implemented by src/signing and wired in src/services.ts.

/** What a service session's access token says (RFC 9068 profile). */
export interface AccessTokenClaims {
  /** The account's numeric id (the wire's `userId`). */
  subject: string;
  /** Allowed actions, space-separated. */
  scope: string;
  /** The Access Key the session was started with (public). */
  clientId: string;
  /** The session the token belongs to (`sid`): what a revocation pushed to verifiers names. */
  sessionId?: string;
  /** Unix ms. */
  issuedAt: number;
  /** Unix ms. */
  expiresAt: number;
}

/** Mints a service session's access token (a signed JWT). Makes itself ready: no caller prepares it. */
export interface AccessTokenSigner {
  mint(claims: AccessTokenClaims): Promise<{ token: string }>;
}

/**
 * A service-account access token's signature and claims, nothing else: whether it was revoked or
 * replaced is its session's business (the verification path asks the store).
 */
export interface AccessTokenVerifier {
  verify(token: string): Promise<{ ok: true; claims: { sub: string } } | { ok: false; code: 'invalid_token' | 'token_expired' }>;
}

export type SigningKeyState = 'pending' | 'active' | 'retiring' | 'retired';

export interface SigningKeyInfo {
  kid: string;
  alg: JwtAlgorithm;
  createdAt: number;
  activatesAt: number;
  state: SigningKeyState;
  /** When the key stops signing (its successor's activation); null while nothing supersedes it. */
  signsUntil: number | null;
  /** When it leaves the JWKS; null while nothing supersedes it. */
  publishedUntil: number | null;
}

export interface RotationResult {
  /** The new key: published now, signing from `activatesAt`. */
  key: SigningKeyInfo;
  /** The key it supersedes, now with the time it stops signing and leaves the JWKS; null for the first key. */
  previous: SigningKeyInfo | null;
  /** Keys deleted because no live token can carry them any more. */
  deleted: string[];
}

/** What core and http need of the JWT signing key ring (src/signing/key-ring.ts implements it). */
export interface SigningKeys {
  /** Reads the ring and opens the active key, creating the first one on an empty ring. */
  ready(): Promise<void>;
  /** The JWKS (RFC 7517): every key that may still verify a live token. */
  jwks(): Promise<{ keys: Record<string, unknown>[] }>;
  /** Every stored key with its state. */
  list(): Promise<SigningKeyInfo[]>;
  /** Adds a key (published now, signing after the publish delay); deletes keys no live token can carry. */
  rotate(ctx: AuditContext): Promise<RotationResult>;
}
