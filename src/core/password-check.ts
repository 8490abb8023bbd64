/**
 * The one password check: email + password under the LoginGuard's failure limits, shared by
 * `tokens.make` (AccountService.passwordLogin) and the console sign-in, so guessing through
 * either costs the same and counts against the same limits per email and per address.
 *
 * An unknown email verifies a dummy hash (the hasher's null case), so it costs what a wrong
 * password costs and answers the same. Past the limit, the outcome of a guess is not told.
 */
import type { CoreMetrics } from './metrics.ts';
import type { PasswordHasher } from '../secrets/password.ts';
import { normalizeEmail } from './accounts.ts';
import { audit, type AuditContext } from './audit.ts';
import type { Clock } from './clock.ts';
import type { LoginGuard } from './limits.ts';
import type { Account, AuditType } from './model.ts';
import type { Store } from './ports.ts';

export type PasswordCheckOutcome =
  | { ok: true; account: Account }
  | { ok: false; code: 'invalid_credentials' | 'too_many_attempts' | 'account_disabled'; retryAfterSeconds?: number };

/** Where the attempt came from: what the audit log records of it. */
export interface PasswordCheckVia {
  /** The audit event of a wrong email or password. */
  failed: AuditType;
  /** Extra detail of the audit event of a throttled attempt. */
  throttledDetail?: Record<string, unknown>;
}

export class PasswordCheck {
  readonly #d: { store: Store; clock: Clock; hasher: PasswordHasher; loginGuard: LoginGuard; metrics?: CoreMetrics };

  constructor(deps: { store: Store; clock: Clock; hasher: PasswordHasher; loginGuard: LoginGuard; metrics?: CoreMetrics }) {
    this.#d = deps;
  }

  async check(input: { email: string; password: string }, ctx: AuditContext, via: PasswordCheckVia): Promise<PasswordCheckOutcome> {
    const { store, clock, hasher, loginGuard } = this.#d;
    const email = normalizeEmail(input.email);
    // Exact also for a burst of concurrent guesses spread over several nodes (LoginGuard.begin).
    const attempt = await loginGuard.begin(email, ctx.address);
    if (!attempt.ok) {
      await audit(store.audit, clock, ctx, { type: 'login.throttled', detail: { email, ...via.throttledDetail } });
      this.#d.metrics?.refused('login_throttled');
      return { ok: false, code: 'too_many_attempts', retryAfterSeconds: attempt.retryAfterSeconds };
    }
    const found = await store.accounts.findByEmail(email);
    const ok = await hasher.verify(found?.passwordHash ?? null, input.password);
    if (!found || !ok) {
      await audit(store.audit, clock, ctx, { type: via.failed, accountId: found?.id ?? null, detail: { email } });
      // Past the limit (other guesses got there first), the outcome of this guess is not told.
      const throttled = await attempt.failed();
      if (throttled !== null) return { ok: false, code: 'too_many_attempts', retryAfterSeconds: throttled };
      return { ok: false, code: 'invalid_credentials' };
    }
    const throttledNow = await attempt.succeeded();
    if (throttledNow !== null) return { ok: false, code: 'too_many_attempts', retryAfterSeconds: throttledNow };
    if (found.status !== 'active') return { ok: false, code: 'account_disabled' };
    const { passwordHash: _omit, ...account } = found;
    return { ok: true, account };
  }
}
