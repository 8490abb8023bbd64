/** Core assembled: every domain service wired to its dependencies. No HTTP, no SQL here. */
import type { Config } from '../config/schema.ts';
import type { PasswordHasher } from '../secrets/password.ts';
import { AccountService } from './accounts.ts';
import { ChangeBus } from './changes.ts';
import type { Clock } from './clock.ts';
import { LoginGuard } from './limits.ts';
import type { Store } from './ports.ts';
import { opaqueAccessTokens, SessionService, type SessionEvents } from './sessions.ts';

export interface CoreDeps {
  config: Config;
  store: Store;
  clock: Clock;
  hasher: PasswordHasher;
}

export interface Core {
  readonly config: Config;
  readonly store: Store;
  readonly clock: Clock;
  readonly accounts: AccountService;
  readonly sessions: SessionService;
  /** Revocations and rotations, for verification caches (this node, and others through the store). */
  readonly changes: ChangeBus;
}

export function createCore(deps: CoreDeps): Core {
  const { config, store, clock, hasher } = deps;
  const changes = new ChangeBus();
  const events: SessionEvents = {
    onSessionsChanged(ids) {
      changes.publish({ kind: 'session', ids });
    },
  };
  const sessions = new SessionService({
    store,
    clock,
    maxLifetimeMs: config.sessionMaxLifetime,
    reuseGraceMs: config.refreshReuseGrace,
    events,
    policies: {
      chatapp: { accessTtlMs: config.chatappAccessTtl, refreshTtlMs: config.chatappRefreshTtl, minter: opaqueAccessTokens },
    },
  });
  const loginGuard = new LoginGuard(store.counters, clock, {
    maxFailuresPerAccount: config.loginMaxFailuresPerAccount,
    maxFailuresPerAddress: config.loginMaxFailuresPerAddress,
    windowMs: config.loginFailureWindow,
  });
  const accounts = new AccountService({ store, clock, hasher, sessions, loginGuard, dailyMakeLimit: config.chatappDailyMakeLimit });
  return { config, store, clock, accounts, sessions, changes };
}
