/**
 * Password guessing and account enumeration, on SQLite and PostgreSQL, with two
 * tokend nodes on one database:
 *
 * - failed logins are limited per account and per client address, and the counters live in the
 *   database, so alternating nodes (and addresses) does not reset them; once limited, even the
 *   right password is refused, on tokens.make and on the cabinet sign-in alike, and no argon2id
 *   work is done;
 * - an unknown email and a wrong password take the same path: the same status and body, byte for
 *   byte, one argon2id verification each, and the same count towards the limits (so a lockout says
 *   nothing about whether the account exists either). Their latency distributions are measured,
 *   not asserted here: bench/login-enumeration.ts.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../src/config/schema.ts';
import { createPasswordHasher, type PasswordHasher } from '../src/secrets/password.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const LIMITS: Partial<Config> = {
  loginMaxFailuresPerAccount: 4,
  loginMaxFailuresPerAddress: 7,
  // The per-address limit needs the client's address: the tests send it as a proxy on loopback would.
  trustedProxies: ['127.0.0.1'],
};

/** The real argon2id hasher, counting its verifications. */
async function countingHasher(): Promise<{ hasher: PasswordHasher; verifications: () => number }> {
  const real = await createPasswordHasher();
  let n = 0;
  return {
    hasher: {
      hash: (password) => real.hash(password),
      verify: async (stored, password) => {
        n++;
        return real.verify(stored, password);
      },
    },
    verifications: () => n,
  };
}

for (const db of databases()) {
  describe(`brute force and enumeration, two nodes (${db})`, () => {
    let a: TestTokend;
    let b: TestTokend;
    let verifications: () => number;

    before(async () => {
      const counting = await countingHasher();
      verifications = counting.verifications;
      a = await startTokend({ db, config: LIMITS, hasher: counting.hasher });
      b = await startTokend({ db: a.db, config: LIMITS, hasher: counting.hasher });
    });
    after(async () => {
      await b.close();
      await a.close();
    });

    const nodes = (): TestTokend[] => [a, b];

    async function make(node: TestTokend, address: string, body: Record<string, string>) {
      return node.app.inject({ method: 'POST', url: '/v1/tokens', headers: { 'x-forwarded-for': address }, payload: body });
    }
    async function signIn(node: TestTokend, address: string, body: Record<string, string>) {
      return node.app.inject({ method: 'POST', url: '/api/cabinet/session', headers: { 'x-forwarded-for': address }, payload: body });
    }

    it('per account: failures on both nodes from many addresses add up; then even the right password is refused, without argon2', async () => {
      const u = await seedAccount(a.core);
      for (let i = 0; i < 4; i++) {
        const r = await make(nodes()[i % 2]!, `10.1.0.${i + 1}`, { email: u.email, password: `${u.password}-${i}`, appId: u.appId });
        assert.equal(r.statusCode, 401, r.body);
        assert.equal(r.json().error.code, 'ApiInvalidCredentialsError');
      }
      const before = verifications();
      const blocked = await make(b, '10.1.0.99', { email: u.email, password: u.password, appId: u.appId });
      assert.equal(blocked.statusCode, 429, blocked.body);
      assert.equal(blocked.json().error.code, 'ApiTooManyAttemptsError');
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      // The cabinet sign-in shares the counters: guessing through the console is no cheaper.
      const console = await signIn(a, '10.1.0.98', { email: u.email, password: u.password });
      assert.equal(console.statusCode, 429, console.body);
      assert.equal(console.json().error.code, 'too_many_attempts');
      assert.ok(Number(console.headers['retry-after']) > 0);
      // The email is normalised before it is counted: case and spaces do not reset it.
      const variant = await make(a, '10.1.0.97', { email: `  ${u.email.toUpperCase()} `, password: u.password, appId: u.appId });
      assert.equal(variant.statusCode, 429);
      assert.equal(verifications(), before, 'a limited attempt still ran argon2id');
      // Another account from the same addresses is not affected.
      const v = await seedAccount(a.core);
      assert.equal((await make(b, '10.1.0.1', { email: v.email, password: v.password, appId: v.appId })).statusCode, 200);
    });

    it('per address: failures for many emails from one address on both nodes add up; other addresses are not affected', async () => {
      for (let i = 0; i < 7; i++) {
        const r = await make(nodes()[i % 2]!, '10.2.0.1', { email: `guess-${i}-${Date.now()}@example.com`, password: 'wrong-password', appId: 'app_x' });
        assert.equal(r.statusCode, 401, r.body);
      }
      const w = await seedAccount(a.core);
      const blocked = await make(a, '10.2.0.1', { email: w.email, password: w.password, appId: w.appId });
      assert.equal(blocked.statusCode, 429, blocked.body);
      assert.equal(blocked.json().error.code, 'ApiTooManyAttemptsError');
      const blockedConsole = await signIn(b, '10.2.0.1', { email: w.email, password: w.password });
      assert.equal(blockedConsole.statusCode, 429);
      assert.equal((await make(b, '10.2.0.2', { email: w.email, password: w.password, appId: w.appId })).statusCode, 200);
    });

    it('only failures count: many correct logins never lock anyone out', async () => {
      const u = await seedAccount(a.core);
      for (let i = 0; i < 10; i++) {
        const r = await make(nodes()[i % 2]!, '10.3.0.1', { email: u.email, password: u.password, appId: u.appId });
        assert.equal(r.statusCode, 200, r.body);
      }
    });

    it('unknown email and wrong password: the same status and body, one argon2id each, the same count towards the limit', async () => {
      const u = await seedAccount(a.core);
      const unknown = `nobody-${Date.now()}@example.com`;
      for (const [route, call] of [
        ['tokens.make', (email: string, address: string) => make(a, address, { email, password: 'wrong-password-1', appId: u.appId })],
        ['cabinet sign-in', (email: string, address: string) => signIn(b, address, { email, password: 'wrong-password-1' })],
      ] as const) {
        const v0 = verifications();
        const wrong = await call(u.email, '10.4.0.1');
        const v1 = verifications();
        const missing = await call(unknown, '10.4.0.2');
        const v2 = verifications();
        assert.equal(wrong.statusCode, 401, route);
        assert.equal(missing.statusCode, wrong.statusCode, route);
        assert.equal(missing.body, wrong.body, `${route}: the bodies differ`);
        assert.deepEqual(Object.keys(missing.headers).sort(), Object.keys(wrong.headers).sort(), `${route}: the headers differ`);
        assert.equal(v1 - v0, 1, `${route}: a wrong password ran argon2id ${v1 - v0} times`);
        assert.equal(v2 - v1, 1, `${route}: an unknown email ran argon2id ${v2 - v1} times`);
      }
      // Both reach the per-account limit after the same number of failures, and then look alike too.
      for (let i = 0; i < 2; i++) {
        await make(b, '10.4.1.1', { email: u.email, password: 'wrong-password-2', appId: u.appId });
        await make(b, '10.4.1.2', { email: unknown, password: 'wrong-password-2', appId: u.appId });
      }
      const lockedKnown = await make(a, '10.4.1.3', { email: u.email, password: 'wrong-password-3', appId: u.appId });
      const lockedUnknown = await make(a, '10.4.1.4', { email: unknown, password: 'wrong-password-3', appId: u.appId });
      assert.equal(lockedKnown.statusCode, 429);
      assert.equal(lockedUnknown.statusCode, 429);
      assert.equal(lockedUnknown.json().error.code, lockedKnown.json().error.code);
    });

    it('service-account keys: an unknown Access Key and a wrong Secret Key get the same answer', async () => {
      const u = await seedAccount(a.core);
      const sa = await a.core.serviceAccounts.create({ accountId: u.accountId, name: 'bf', actions: ['dns_orders_list'] }, { address: 'test' });
      const key = await a.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, { address: 'test' });
      const other = await a.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, { address: 'test' });
      const create = (node: TestTokend, accessKey: string, secretKey: string) =>
        node.app.inject({ method: 'POST', url: '/service/account/create/token', headers: { 'access-key': accessKey, 'secret-key': secretKey } });
      const wrongSecret = await create(a, key.key.accessKey, other.secretKey);
      const unknownKey = await create(b, `${key.key.accessKey.slice(0, -2)}ZZ`, key.secretKey);
      assert.equal(wrongSecret.statusCode, 401, wrongSecret.body);
      assert.equal(unknownKey.statusCode, wrongSecret.statusCode);
      assert.equal(unknownKey.body, wrongSecret.body);
    });
  });
}
