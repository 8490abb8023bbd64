/**
 * The login-failure limits are exact under concurrency (brute-force counters live in the
 * database and are atomic there): a burst of guesses sent at once gets no more password checks
 * than the limit allows, and correct passwords still never count.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { Clock } from '../src/core/clock.ts';
import { createPasswordHasher, OWASP_ARGON2ID } from '../src/secrets/password.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

/** The login-failure window's length (its default): failures are counted per window of the clock. */
const WINDOW_MS = 15 * 60_000;

/**
 * Real time, moved to one second after a window began: the counts of a test never straddle two
 * windows (with the system clock, a test that ran across a quarter hour saw its count restart).
 */
function clockAtWindowStart(): Clock {
  const base = Date.now();
  const start = Math.floor(base / WINDOW_MS) * WINDOW_MS + 1000;
  return { now: () => start + (Date.now() - base) };
}

for (const db of databases()) {
  describe(`login limits under concurrency (${db})`, () => {
    let t: TestTokend;
    before(async () => {
      // The production cost: the slower the password check, the wider the window a racy guard would lose in.
      const hasher = await createPasswordHasher(OWASP_ARGON2ID);
      t = await startTokend({
        db,
        hasher,
        clock: clockAtWindowStart(),
        config: { loginMaxFailuresPerAccount: 5, loginMaxFailuresPerAddress: 1000, loginFailureWindow: WINDOW_MS },
      });
    });
    after(async () => t.close());

    it('30 concurrent wrong passwords for one email: exactly 5 are answered as wrong, 25 as too many attempts', async () => {
      const u = await seedAccount(t.core);
      const outcomes = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          t.core.accounts.passwordLogin({ email: u.email, password: `wrong-${i}-password`, appId: u.appId }, { address: `10.0.0.${i}` }),
        ),
      );
      const codes = outcomes.map((o) => (o.ok ? 'ok' : o.code));
      assert.equal(codes.filter((c) => c === 'invalid_credentials').length, 5, codes.join(','));
      assert.equal(codes.filter((c) => c === 'too_many_attempts').length, 25);
      const right = await t.core.accounts.passwordLogin(u, { address: '10.0.1.1' });
      assert.equal(right.ok ? 'ok' : right.code, 'too_many_attempts', 'the right password is refused too once the limit is reached');
    });

    it('correct passwords, even concurrent ones, never count as failures', async () => {
      const u = await seedAccount(t.core);
      for (let i = 0; i < 4; i++) {
        const o = await t.core.accounts.passwordLogin({ ...u, password: 'not-the-password' }, { address: '10.0.2.1' });
        assert.equal(o.ok ? 'ok' : o.code, 'invalid_credentials');
      }
      const oks = await Promise.all(Array.from({ length: 8 }, () => t.core.accounts.passwordLogin(u, { address: '10.0.2.1' })));
      assert.ok(oks.every((o) => o.ok), oks.map((o) => (o.ok ? 'ok' : o.code)).join(','));
      // 4 failures so far: one more guess is allowed, then the limit holds.
      const fifth = await t.core.accounts.passwordLogin({ ...u, password: 'not-the-password' }, { address: '10.0.2.1' });
      assert.equal(fifth.ok ? 'ok' : fifth.code, 'invalid_credentials');
      const sixth = await t.core.accounts.passwordLogin({ ...u, password: 'not-the-password' }, { address: '10.0.2.1' });
      assert.equal(sixth.ok ? 'ok' : sixth.code, 'too_many_attempts');
    });
  });
}
