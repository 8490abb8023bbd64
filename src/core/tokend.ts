/** Core assembled: every domain service wired to its dependencies. No HTTP, no SQL here. */
import { bothMetrics, type CoreMetrics } from './metrics.ts';
import type { Config } from '../config/schema.ts';
import type { PasswordHasher } from '../secrets/password.ts';
import { AccountService } from './accounts.ts';
import { AuditLog } from './audit.ts';
import { AuditChain } from './audit-log.ts';
import { AddressGuard } from './events/address-guard.ts';
import type { SecretBox } from './events/ports.ts';
import { WebhookService } from './events/webhooks.ts';
import { LeakReports } from './events/leaks.ts';
import { RevocationFeed } from './events/revocations.ts';
import { ApiTokenService, LastUsedNotes } from './api-tokens.ts';
import { CallerService } from './callers.ts';
import type { ChangeBus } from './changes.ts';
import { DAY_MS, type Clock } from './clock.ts';
import { ClientPatterns } from './client-patterns.ts';
import { TokenUsage } from './token-usage.ts';
import { TrafficStats } from './traffic.ts';
import { ConsoleService } from './console.ts';
import { CredentialGuard, LoginGuard } from './limits.ts';
import { OperatorKeyService } from './operator-keys.ts';
import { IdempotencyService, type ReplySealer } from './idempotency.ts';
import { PasswordCheck } from './password-check.ts';
import type { AccessTokenSigner, AccessTokenVerifier, SigningKeys, Store } from './ports.ts';
import { ServiceAccountService, serviceSessionPolicy } from './service-accounts.ts';
import { PolicyService } from './policies/service.ts';
import { opaqueAccessTokens, SessionService, type SessionEvents } from './sessions.ts';
import { UsageMeter } from './usage.ts';
import { TokenLookups, Verification, type CheckPolicy } from './verification.ts';
import { ApiTokenFilter } from './token-filter.ts';

export interface CoreDeps {
  config: Config;
  store: Store;
  clock: Clock;
  hasher: PasswordHasher;
  /** The bus the store bridges between nodes and the key ring follows (src/services.ts makes both). */
  changes: ChangeBus;
  /** The JWT signing key ring (src/signing/key-ring.ts). */
  signing: SigningKeys;
  /** Mints and verifies service sessions' access JWTs (src/signing/access-jwt.ts). */
  accessTokens: AccessTokenSigner & AccessTokenVerifier;
  /** The policy every token check applies after liveness; default: the stored policies (docs/policies.md). */
  policy?: CheckPolicy;
  /** Seals the answers remembered for `Idempotency-Key` (they may carry a secret shown once). */
  replySealer: ReplySealer;
  /** Where checks, issuances, refreshes and refusals are counted (src/observability/metrics.ts); none by default. */
  metrics?: CoreMetrics;
  /** Seals webhook signing secrets under the master key (src/signing/webhook-secrets.ts). */
  webhookSecrets: SecretBox;
}

export interface Core {
  readonly config: Config;
  readonly clock: Clock;
  readonly accounts: AccountService;
  readonly sessions: SessionService;
  /** Service accounts, their keys, and their JWT access tokens (the hoster.by scheme). */
  readonly serviceAccounts: ServiceAccountService;
  /** The JWT signing key ring: JWKS, rotation. */
  readonly signing: SigningKeys;
  /** Revocations and rotations, for verification caches (this node, and others through the store). */
  readonly changes: ChangeBus;
  /** Console sign-ins (personal cabinet and operator). */
  readonly console: ConsoleService;
  /** Token checks per account per day, counted in memory and flushed in batches. */
  readonly usage: UsageMeter;
  /** How ChatApp-scheme clients use their tokens, per app, and the advice it calls for. */
  readonly clientPatterns: ClientPatterns;
  /** Checks of each API token per day by outcome (the token page's chart). */
  readonly tokenUsage: TokenUsage;
  /** The operator dashboard: checks, issuances, refreshes and refusals per minute, the busiest accounts and tokens. */
  readonly traffic: TrafficStats;
  /** Organisation API tokens (v3, l3, native): create, list, rotate, revoke, verify. */
  readonly apiTokens: ApiTokenService;
  /** Stored API tokens' fingerprints: unknown ones end before storage once started (src/core/token-filter.ts). */
  readonly apiTokenFilter: ApiTokenFilter;
  /**
   * The one verification path: every token check of every dialect, forward-auth and
   * introspection (`check`), and RFC 7009 revocation by token (`revoke`).
   */
  readonly verification: Verification;
  /** The admin token and resource-server credentials: who may introspect, revoke, administer. */
  readonly callers: CallerService;
  /** Rules on tokens, keys and apps (rate limits, credits, allow-lists, scopes, expiry), held in memory. */
  readonly policies: PolicyService;
  /** Named credentials of the admin API with a permission set (docs/admin-api.md). */
  readonly operatorKeys: OperatorKeyService;
  /** Remembered answers of the admin API's creating POSTs (`Idempotency-Key`). */
  readonly idempotency: IdempotencyService;
  /** The one per-address limit on wrong credentials at every endpoint that takes one (src/core/limits.ts). */
  readonly credentialGuard: CredentialGuard;
  /** The audit log as the operator reads it: filtered pages and a streamed export. */
  readonly audit: AuditLog;
  /** Webhook endpoints of the operator and of accounts (docs/webhooks.md). */
  readonly webhooks: WebhookService;
  /** Where webhook URLs may point (TOKEND_WEBHOOK_ALLOWED_NETWORKS): checked at registration and delivery. */
  readonly webhookGuard: AddressGuard;
  /** The audit log's hash chain: verify, export in chain order, retention (docs/audit.md). */
  readonly auditChain: AuditChain;
  /** Reports of published secrets: recognise, revoke (or only notify), announce (docs/secret-scanning.md). */
  readonly leaks: LeakReports;
  /** Revocations as a stream, for resource servers that verify JWTs locally (docs/revocations.md). */
  readonly revocations: RevocationFeed;
  /** 'sqlite' or 'postgres', for display. */
  readonly databaseKind: string;
  /** Cheap liveness probe of the database (readiness); StoreUnavailableError when it is away. */
  ping(): Promise<void>;
  /**
   * Drops expired fixed-window counters (quotas, login failures, usage past its history),
   * remembered `Idempotency-Key` answers older than a day and expired reset links; run periodically.
   */
  purgeExpiredCounters(): Promise<number>;
  /** Writes what is batched in memory (`last used` times); call before closing the store. */
  close(): Promise<void>;
}

export function createCore(deps: CoreDeps): Core {
  const { config, store, clock, hasher, changes, signing, accessTokens } = deps;
  const events: SessionEvents = {
    onSessionsChanged(ids) {
      changes.publish({ kind: 'session', ids });
    },
  };
  // Holds nothing (every candidate goes to storage) until a long-running server starts it.
  const apiTokenFilter = new ApiTokenFilter();
  // The settings of every cache of what storage said (bounded staleness, dropped on changes), each
  // cache with its own bound of entries.
  const cache = { ttlMs: config.verifyCacheTtl, maxEntries: config.verifyCacheSize };
  // Every check's lookups go through this cache.
  const lookups = new TokenLookups({
    store,
    clock,
    changes,
    cache,
    apiTokenFilter,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  const usage = new UsageMeter(store.counters, clock);
  const clientPatterns = new ClientPatterns(store.counters, clock);
  // What core reports to Prometheus, the operator dashboard counts too (in memory, flushed in batches).
  const traffic = new TrafficStats({ store, clock, clientPatterns });
  const metrics = deps.metrics ? bothMetrics(deps.metrics, traffic) : traffic;
  const counted = { metrics };
  const tokenUsage = new TokenUsage(store.counters, clock);
  const lastUsed = new LastUsedNotes(store, clock);
  const policies = new PolicyService({
    store,
    clock,
    changes,
    instanceExpiry: { maxLifetimeSeconds: config.policyMaxTokenLifetime > 0 ? Math.ceil(config.policyMaxTokenLifetime / 1000) : null, required: config.policyExpiryRequired },
  });
  const verification = new Verification({
    ...counted,
    lookups,
    clock,
    jwt: accessTokens,
    usage,
    lastUsed,
    clientPatterns,
    tokenUsage,
    traffic,
    policy: deps.policy ?? policies,
    // Called only once a revocation is asked for, after everything below exists.
    revokeSession: (id, ctx) => sessions.revoke(id, ctx, 'revoked_by_token'),
    revokeApiToken: (id, ctx) => apiTokens.revoke(id, ctx),
  });
  const sessions = new SessionService({
    ...counted,
    store,
    clock,
    lookups,
    maxLifetimeMs: config.sessionMaxLifetime,
    reuseGraceMs: config.refreshReuseGrace,
    events,
    clientPatterns,
    policies: {
      chatapp: { accessTtlMs: config.chatappAccessTtl, refreshTtlMs: config.chatappRefreshTtl, minter: opaqueAccessTokens },
      service: serviceSessionPolicy({ clock, accessTtlMs: config.serviceAccessTtl, refreshTtlMs: config.serviceRefreshTtl, signer: accessTokens }),
    },
  });
  const serviceAccounts = new ServiceAccountService({
    store,
    clock,
    sessions,
    verification,
    changes,
    dailyCreateLimit: config.serviceDailyCreateLimit,
    expiryPolicy: policies,
    cache,
  });
  const loginGuard = new LoginGuard(store.counters, clock, {
    maxFailuresPerAccount: config.loginMaxFailuresPerAccount,
    maxFailuresPerAddress: config.loginMaxFailuresPerAddress,
    windowMs: config.loginFailureWindow,
  });
  const passwords = new PasswordCheck({ store, clock, hasher, loginGuard, ...counted });
  const credentialGuard = new CredentialGuard(store.counters, clock, {
    maxFailures: config.credentialMaxFailures,
    windowMs: config.credentialFailureWindow,
    staleMs: config.verifyCacheTtl,
  });
  const accounts = new AccountService({
    ...counted,
    store,
    clock,
    hasher,
    sessions,
    passwords,
    dailyMakeLimit: config.chatappDailyMakeLimit,
    clientPatterns,
    onAccountChanged: (id) => changes.publish({ kind: 'account', ids: [String(id)] }),
    onAccountDeleted: (id, removed) => {
      // Every cached token check is tagged with its account: this one drops them all, on every node.
      changes.publish({ kind: 'account', ids: [String(id)] });
      changes.publish({ kind: 'session', ids: removed.sessionIds });
      changes.publish({ kind: 'api_token', ids: removed.apiTokenIds });
      changes.publish({ kind: 'service_account', ids: removed.serviceAccountIds.map(String) });
      changes.publish({ kind: 'service_key', ids: removed.serviceKeyIds.map(String) });
      changes.publish({ kind: 'policy', ids: removed.policySubjects });
      // This node's rules in memory follow the store now (other nodes reload on the published change).
      if (removed.policySubjects.length > 0) void policies.refresh().catch(() => {});
    },
    credentialGuard,
    onAppDeleted(appId, revokedSessionIds) {
      changes.publish({ kind: 'session', ids: revokedSessionIds });
      policies.forget([{ kind: 'app', id: appId }]);
    },
  });
  const apiTokens = new ApiTokenService({ store, clock, changes, lastUsed, verification, expiryPolicy: policies, filter: apiTokenFilter, ...counted });
  const callers = new CallerService({ store, clock, changes, adminToken: config.adminToken, cache });
  const operatorKeys = new OperatorKeyService({ store, clock, changes, cache });
  const idempotency = new IdempotencyService({ store, clock, sealer: deps.replySealer });
  const consoleService = new ConsoleService({
    store,
    clock,
    passwords,
    credentialGuard,
    idleTimeoutMs: config.consoleIdleTimeout,
    lifetimeMs: config.consoleSessionLifetime,
    verifyAdminToken: (token) => callers.verifyAdminToken(token),
  });
  const webhookGuard = new AddressGuard(config.webhookAllowedNetworks);
  const webhooks = new WebhookService({ store, clock, secrets: deps.webhookSecrets, guard: webhookGuard });
  const auditChain = new AuditChain({ store, clock });
  const leaks = new LeakReports({
    store,
    clock,
    action: config.secretScanningAction,
    revoke: {
      api_token: (id, ctx) => apiTokens.revoke(id, ctx),
      session: (id, ctx) => sessions.revoke(id, ctx, 'secret_leaked'),
      service_key: (id, ctx) => serviceAccounts.revokeKey(Number(id), ctx),
      resource_server: (id, ctx) => callers.revokeResourceServer(id, ctx),
      console_session: (id) => store.consoleSessions.revoke(id, clock.now()),
      operator_key: async (id, ctx) => (await operatorKeys.revoke(id, ctx)) !== null,
      password_reset: async (id) => (await store.passwordResets.consume(id, clock.now())) !== null,
    },
  });
  return {
    config,
    clock,
    webhooks,
    webhookGuard,
    auditChain,
    leaks,
    revocations: new RevocationFeed({ store, pollMs: config.revocationStreamPoll }),
    accounts,
    sessions,
    serviceAccounts,
    signing,
    changes,
    console: consoleService,
    usage,
    clientPatterns,
    tokenUsage,
    traffic,
    apiTokens,
    apiTokenFilter,
    verification,
    callers,
    policies,
    operatorKeys,
    idempotency,
    credentialGuard,
    audit: new AuditLog(store.audit, clock),
    databaseKind: store.kind,
    ping: () => store.ping(),
    async purgeExpiredCounters() {
      const now = clock.now();
      const counters = (await store.counters.purgeExpired(now)) + (await traffic.purgeExpired(now));
      const replies = await store.idempotency.purgeExpired(now - DAY_MS + 1);
      const resets = await store.passwordResets.purgeExpired(now);
      return counters + replies + resets;
    },
    async close() {
      // Each batch gets its chance to land even when another one fails.
      lookups.close();
      const results = await Promise.allSettled([
        apiTokenFilter.stop(),
        lastUsed.close(),
        usage.close(),
        clientPatterns.close(),
        tokenUsage.close(),
        traffic.close(),
        policies.close(),
        operatorKeys.close(),
      ]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
