/** Core assembled: every domain service wired to its dependencies. No HTTP, no SQL here. */
import type { Config } from '../config/schema.ts';
import type { PasswordHasher } from '../secrets/password.ts';
import { AccessJwt } from '../signing/access-jwt.ts';
import { KeyRing } from '../signing/key-ring.ts';
import { lazyMasterKey, type MasterKey } from '../signing/master-key.ts';
import { AccountService } from './accounts.ts';
import { ApiTokenService, LastUsedNotes } from './api-tokens.ts';
import { CallerService } from './callers.ts';
import { ChangeBus } from './changes.ts';
import type { Clock } from './clock.ts';
import { ConsoleService } from './console.ts';
import { LoginGuard } from './limits.ts';
import type { Store } from './ports.ts';
import { ServiceAccountService, serviceSessionPolicy } from './service-accounts.ts';
import { PolicyService } from './policies/service.ts';
import { opaqueAccessTokens, SessionService, type SessionEvents } from './sessions.ts';
import { UsageMeter } from './usage.ts';
import { TokenLookups, Verification, type CheckPolicy } from './verification.ts';

export interface CoreDeps {
  config: Config;
  store: Store;
  clock: Clock;
  hasher: PasswordHasher;
  /** The master key that seals signing keys; default: TOKEND_MASTER_KEY or `<data dir>/master.key`, resolved on first need. */
  masterKey?: () => MasterKey;
  /** The policy every token check applies after liveness; default: the stored policies (docs/policies.md). */
  policy?: CheckPolicy;
}

export interface Core {
  readonly config: Config;
  readonly store: Store;
  readonly clock: Clock;
  readonly accounts: AccountService;
  readonly sessions: SessionService;
  /** Service accounts, their keys, and their JWT access tokens (the hoster.by scheme). */
  readonly serviceAccounts: ServiceAccountService;
  /** The JWT signing key ring: JWKS, rotation. */
  readonly signing: KeyRing;
  /** Revocations and rotations, for verification caches (this node, and others through the store). */
  readonly changes: ChangeBus;
  /** Console sign-ins (personal cabinet and operator). */
  readonly console: ConsoleService;
  /** Token checks per account per day, counted in memory and flushed in batches. */
  readonly usage: UsageMeter;
  /** Organisation API tokens (v3, l3, native): create, list, rotate, revoke, verify. */
  readonly apiTokens: ApiTokenService;
  /**
   * The one verification path: every token check of every dialect, forward-auth and
   * introspection (`check`), and RFC 7009 revocation by token (`revoke`).
   */
  readonly verification: Verification;
  /** The admin token and resource-server credentials: who may introspect, revoke, administer. */
  readonly callers: CallerService;
  /** Rules on tokens, keys and apps (rate limits, credits, allow-lists, scopes, expiry), held in memory. */
  readonly policies: PolicyService;
  /** Writes what is batched in memory (`last used` times); call before closing the store. */
  close(): Promise<void>;
}

export function createCore(deps: CoreDeps): Core {
  const { config, store, clock, hasher } = deps;
  const changes = new ChangeBus();
  const events: SessionEvents = {
    onSessionsChanged(ids) {
      changes.publish({ kind: 'session', ids });
    },
  };
  const signing = new KeyRing({
    store,
    clock,
    changes,
    masterKey: deps.masterKey ?? lazyMasterKey(config),
    algorithm: config.jwtAlgorithm,
    maxTokenTtlMs: config.serviceAccessTtl,
    publishDelayMs: config.signingKeyPublishDelay,
  });
  const accessJwt = new AccessJwt({ ring: signing, clock, issuer: config.jwtIssuer, audience: config.jwtAudience });
  // Every check's lookups go through this cache (bounded staleness, dropped on changes).
  const lookups = new TokenLookups({ store, clock, changes, cache: { ttlMs: config.verifyCacheTtl, maxEntries: config.verifyCacheSize } });
  const usage = new UsageMeter(store.counters, clock);
  const lastUsed = new LastUsedNotes(store, clock);
  const policies = new PolicyService({
    store,
    clock,
    changes,
    instanceExpiry: { maxLifetimeSeconds: config.policyMaxTokenLifetime > 0 ? Math.ceil(config.policyMaxTokenLifetime / 1000) : null, required: config.policyExpiryRequired },
  });
  const verification = new Verification({
    lookups,
    clock,
    jwt: accessJwt,
    usage,
    lastUsed,
    policy: deps.policy ?? policies,
    // Called only once a revocation is asked for, after everything below exists.
    revokeSession: (id, ctx) => sessions.revoke(id, ctx, 'revoked_by_token'),
    revokeApiToken: (id, ctx) => apiTokens.revoke(id, ctx),
  });
  const sessions = new SessionService({
    store,
    clock,
    lookups,
    maxLifetimeMs: config.sessionMaxLifetime,
    reuseGraceMs: config.refreshReuseGrace,
    events,
    policies: {
      chatapp: { accessTtlMs: config.chatappAccessTtl, refreshTtlMs: config.chatappRefreshTtl, minter: opaqueAccessTokens },
      service: serviceSessionPolicy({ clock, accessTtlMs: config.serviceAccessTtl, refreshTtlMs: config.serviceRefreshTtl, signer: accessJwt }),
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
  });
  const loginGuard = new LoginGuard(store.counters, clock, {
    maxFailuresPerAccount: config.loginMaxFailuresPerAccount,
    maxFailuresPerAddress: config.loginMaxFailuresPerAddress,
    windowMs: config.loginFailureWindow,
  });
  const accounts = new AccountService({
    store,
    clock,
    hasher,
    sessions,
    loginGuard,
    dailyMakeLimit: config.chatappDailyMakeLimit,
    onAccountChanged: (id) => changes.publish({ kind: 'account', ids: [String(id)] }),
  });
  const cache = { ttlMs: config.verifyCacheTtl, maxEntries: config.verifyCacheSize };
  const apiTokens = new ApiTokenService({ store, clock, changes, lastUsed, verification, expiryPolicy: policies });
  const callers = new CallerService({ store, clock, changes, adminToken: config.adminToken, cache });
  const consoleService = new ConsoleService({
    store,
    clock,
    hasher,
    loginGuard,
    idleTimeoutMs: config.consoleIdleTimeout,
    lifetimeMs: config.consoleSessionLifetime,
    verifyAdminToken: (token) => callers.verifyAdminToken(token),
  });
  return {
    config,
    store,
    clock,
    accounts,
    sessions,
    serviceAccounts,
    signing,
    changes,
    console: consoleService,
    usage,
    apiTokens,
    verification,
    callers,
    policies,
    async close() {
      // Each batch gets its chance to land even when another one fails.
      lookups.close();
      const results = await Promise.allSettled([lastUsed.close(), usage.close(), policies.close()]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
