/** Core assembled: every domain service wired to its dependencies. No HTTP, no SQL here. */
import type { Config } from '../config/schema.ts';
import type { PasswordHasher } from '../secrets/password.ts';
import { AccessJwt } from '../signing/access-jwt.ts';
import { KeyRing } from '../signing/key-ring.ts';
import { lazyMasterKey, type MasterKey } from '../signing/master-key.ts';
import { AccountService } from './accounts.ts';
import { ApiTokenService } from './api-tokens.ts';
import { CallerService } from './callers.ts';
import { ChangeBus } from './changes.ts';
import type { Clock } from './clock.ts';
import { ConsoleService } from './console.ts';
import { LoginGuard } from './limits.ts';
import type { AccessLookup, Store } from './ports.ts';
import { ServiceAccountService, serviceJwtVerifier, serviceSessionPolicy } from './service-accounts.ts';
import { PolicyService } from './policies/service.ts';
import { opaqueAccessTokens, SessionService, type SessionEvents } from './sessions.ts';
import { UsageMeter } from './usage.ts';
import { TokenVerifier } from './verifier.ts';
import { VerifyCache } from './verify-cache.ts';

export interface CoreDeps {
  config: Config;
  store: Store;
  clock: Clock;
  hasher: PasswordHasher;
  /** The master key that seals signing keys; default: TOKEND_MASTER_KEY or `<data dir>/master.key`, resolved on first need. */
  masterKey?: () => MasterKey;
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
  /** Any token tokend issues -> its identity (introspection, revocation, forward-auth). */
  readonly verifier: TokenVerifier;
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
  // Every dialect's access-token check goes through this cache (bounded staleness, dropped on changes).
  const accessCache = new VerifyCache<AccessLookup>({ ttlMs: config.verifyCacheTtl, maxEntries: config.verifyCacheSize, clock });
  accessCache.follow(changes);
  const sessions = new SessionService({
    store,
    clock,
    accessCache,
    maxLifetimeMs: config.sessionMaxLifetime,
    reuseGraceMs: config.refreshReuseGrace,
    events,
    policies: {
      chatapp: { accessTtlMs: config.chatappAccessTtl, refreshTtlMs: config.chatappRefreshTtl, minter: opaqueAccessTokens },
      service: serviceSessionPolicy({ clock, accessTtlMs: config.serviceAccessTtl, refreshTtlMs: config.serviceRefreshTtl, jwt: accessJwt }),
    },
  });
  const policies = new PolicyService({
    store,
    clock,
    changes,
    instanceExpiry: { maxLifetimeSeconds: config.policyMaxTokenLifetime > 0 ? Math.ceil(config.policyMaxTokenLifetime / 1000) : null, required: config.policyExpiryRequired },
  });
  const serviceAccounts = new ServiceAccountService({
    store,
    clock,
    sessions,
    ring: signing,
    jwt: accessJwt,
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
  const usage = new UsageMeter(store.counters, clock);
  const cache = { ttlMs: config.verifyCacheTtl, maxEntries: config.verifyCacheSize };
  const onCheck = (accountId: number): void => usage.recordCheck(accountId);
  const apiTokens = new ApiTokenService({ store, clock, changes, cache, onCheck, expiryPolicy: policies });
  const verifier = new TokenVerifier({ store, clock, sessions, apiTokens, onCheck, jwt: serviceJwtVerifier(serviceAccounts) });
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
    verifier,
    callers,
    policies,
    async close() {
      // Each batch gets its chance to land even when another one fails.
      const results = await Promise.allSettled([apiTokens.close(), usage.close(), policies.close()]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
