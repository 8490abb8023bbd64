/**
 * Console sign-ins: the personal cabinet (email + password) and the operator console (the admin
 * token). A sign-in is a random `tdc_…` token held in an HttpOnly cookie; storage keeps only its
 * SHA-256. It ends after an idle timeout or an absolute lifetime, whichever comes first, or when
 * the account is disabled.
 *
 * Password checks go through the same LoginGuard as `tokens.make` (the same failure counters per
 * email and per address, so guessing through the console is no cheaper), but a console sign-in
 * does not start a token session and so never takes a unit of the daily `make` quota.
 */
import { createHmac } from 'node:crypto';
import { constantTimeEqual, sha256Hex } from '../secrets/hash.ts';
import { isNativeToken, MAX_TOKEN_LENGTH, newToken } from '../secrets/tokens.ts';
import { audit, type AuditContext } from './audit.ts';
import type { Clock } from './clock.ts';
import type { CredentialGuard } from './limits.ts';
import type { Account, ConsoleSession, ConsoleSessionKind } from './model.ts';
import type { PasswordCheck, PasswordCheckVia } from './password-check.ts';
import type { Store } from './ports.ts';

/** Activity refreshes `last_seen_at` at most this often: the idle timeout needs no write per request. */
const TOUCH_EVERY_MS = 60_000;
const USER_AGENT_MAX = 256;

export interface ConsoleContext extends AuditContext {
  userAgent: string | null;
}

export type SignInFailure = 'invalid_credentials' | 'too_many_attempts' | 'account_disabled';

export type SignInOutcome =
  | { ok: true; token: string; session: ConsoleSession; account: Account | null }
  | { ok: false; code: SignInFailure; retryAfterSeconds?: number };

export interface ConsoleAuth {
  session: ConsoleSession;
  /** The signed-in account (account sign-ins); null for the operator. */
  account: Account | null;
}

/** Checks an operator credential (the admin token). Owned by whoever owns the admin token. */
export type AdminTokenVerifier = (token: string) => Promise<boolean>;

export interface ConsoleServiceDeps {
  store: Store;
  clock: Clock;
  /** The password check shared with `tokens.make`. */
  passwords: PasswordCheck;
  /** Wrong admin tokens count per address here, with every other operator credential (src/core/limits.ts). */
  credentialGuard: CredentialGuard;
  idleTimeoutMs: number;
  lifetimeMs: number;
  verifyAdminToken: AdminTokenVerifier;
}

const CONSOLE_VIA: PasswordCheckVia = { failed: 'console.sign_in_failed', throttledDetail: { via: 'console' } };

export class ConsoleService {
  readonly #d: ConsoleServiceDeps;

  constructor(deps: ConsoleServiceDeps) {
    this.#d = deps;
  }

  get idleTimeoutMs(): number {
    return this.#d.idleTimeoutMs;
  }

  /** Email + password, under the LoginGuard limits of `tokens.make`, without its daily quota. */
  async signInAccount(input: { email: string; password: string }, ctx: ConsoleContext): Promise<SignInOutcome> {
    const checked = await this.#d.passwords.check(input, ctx, CONSOLE_VIA);
    if (!checked.ok) return checked;
    const { account } = checked;
    return this.#start('account', account, ctx);
  }

  /**
   * The admin token. Failures count per client address only: a per-subject limit would let anyone
   * lock the operator out, and the token (>= 128 random bits) cannot be guessed anyway.
   */
  async signInOperator(adminToken: string, ctx: ConsoleContext): Promise<SignInOutcome> {
    const checked = await this.verifyOperatorToken(adminToken, ctx);
    if (!checked.ok) {
      if (checked.code === 'invalid_credentials') {
        await audit(this.#d.store.audit, this.#d.clock, ctx, { type: 'console.sign_in_failed', detail: { operator: true } });
      }
      return checked;
    }
    return this.#start('operator', null, ctx);
  }

  /**
   * The admin token of the console's operator sign-in, under the one per-address limit on wrong
   * credentials that the admin API, introspection, revocation and `/metrics` share (CredentialGuard).
   */
  async verifyOperatorToken(adminToken: string, ctx: ConsoleContext): Promise<{ ok: true } | { ok: false; code: SignInFailure; retryAfterSeconds?: number }> {
    const checked = await this.#d.credentialGuard.check(ctx.address, async () =>
      adminToken.length > 0 && adminToken.length <= MAX_TOKEN_LENGTH && (await this.#d.verifyAdminToken(adminToken)) ? true : null,
    );
    if (checked.ok) return { ok: true };
    if (checked.retryAfterSeconds !== null) return { ok: false, code: 'too_many_attempts', retryAfterSeconds: checked.retryAfterSeconds };
    return { ok: false, code: 'invalid_credentials' };
  }

  /** Ends every console sign-in of the account but `keep` (the one changing its password). */
  async endAccountSignIns(accountId: number, keep: ConsoleAuth | null): Promise<number> {
    return this.#d.store.consoleSessions.revokeByAccount(accountId, this.#d.clock.now(), keep?.session.id);
  }

  async #start(kind: ConsoleSessionKind, account: Account | null, ctx: ConsoleContext): Promise<SignInOutcome> {
    const { store, clock, lifetimeMs } = this.#d;
    const secret = newToken('consoleSession');
    const now = clock.now();
    const session: ConsoleSession = {
      id: secret.hash,
      kind,
      accountId: account?.id ?? null,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + lifetimeMs,
      revokedAt: null,
      address: ctx.address,
      userAgent: ctx.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
    };
    await store.transaction(async (tx) => {
      await tx.consoleSessions.insert(session);
      await audit(tx.audit, clock, ctx, { type: 'console.signed_in', accountId: session.accountId, detail: { kind } });
    });
    return { ok: true, token: secret.token, session, account };
  }

  /**
   * The sign-in behind a cookie token, or null when it is malformed, unknown, of the other kind,
   * signed out, idle too long, past its lifetime, or its account is no longer active.
   */
  async authenticate(token: string | undefined, kind: ConsoleSessionKind): Promise<ConsoleAuth | null> {
    // Shape and checksum first: a forged or truncated cookie never reaches storage.
    if (!token || !isNativeToken(token, 'consoleSession')) return null;
    const { store, clock, idleTimeoutMs } = this.#d;
    const session = await store.consoleSessions.find(sha256Hex(token));
    const now = clock.now();
    if (!session || session.kind !== kind || session.revokedAt !== null) return null;
    if (session.expiresAt <= now || session.lastSeenAt + idleTimeoutMs <= now) return null;
    let account: Account | null = null;
    if (kind === 'account') {
      account = session.accountId === null ? null : await store.accounts.findById(session.accountId);
      if (!account || account.status !== 'active') return null;
    }
    if (now - session.lastSeenAt >= TOUCH_EVERY_MS) await store.consoleSessions.touch(session.id, now);
    return { session, account };
  }

  async signOut(auth: ConsoleAuth, ctx: ConsoleContext): Promise<void> {
    const { store, clock } = this.#d;
    await store.transaction(async (tx) => {
      if (await tx.consoleSessions.revoke(auth.session.id, clock.now())) {
        await audit(tx.audit, clock, ctx, { type: 'console.signed_out', accountId: auth.session.accountId, detail: { kind: auth.session.kind } });
      }
    });
  }

  /**
   * The CSRF token of a sign-in: derived from the cookie's secret (HMAC), so nothing more is
   * stored, and it reveals nothing about the cookie. The console reads it from `/me` and sends it
   * back in `X-CSRF-Token`; a cross-site page can neither read it nor compute it.
   */
  csrfToken(cookieToken: string): string {
    return createHmac('sha256', cookieToken).update('tokend console csrf v1').digest('base64url');
  }

  verifyCsrf(cookieToken: string, presented: string | undefined): boolean {
    if (!presented || presented.length > 128) return false;
    return constantTimeEqual(this.csrfToken(cookieToken), presented);
  }

  async purgeExpired(): Promise<number> {
    return this.#d.store.consoleSessions.purgeExpired(this.#d.clock.now());
  }
}
