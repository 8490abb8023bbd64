/**
 * Token creation answers from a cached key only what its write confirms: a change made behind
 * the node's back (another node whose notification has not arrived, the CLI beside the server:
 * here, straight into the store, which tells no cache) takes effect on the very next creation,
 * not after the cache's staleness bound. And a warm cache saves the creation its read.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { databases, startTokend, type TestTokend } from './helpers/harness.ts';
import { hosterCalls, seedServiceKey, type TestKey } from './helpers/hoster.ts';

for (const db of databases()) {
  describe(`hoster.by token creation from a cached key (${db})`, () => {
    let t: TestTokend;
    let calls: ReturnType<typeof hosterCalls>;
    /** Reads of a key by its Access Key, counted on the real store. */
    let reads = 0;
    before(async () => {
      // A long staleness bound: whatever takes effect below does so through the write, not the clock.
      t = await startTokend({ db, config: { verifyCacheTtl: 60_000 } });
      calls = hosterCalls(t);
      const keys = t.core.store.serviceKeys;
      const find = keys.findByAccessKey.bind(keys);
      keys.findByAccessKey = (accessKey) => {
        reads++;
        return find(accessKey);
      };
    });
    after(async () => t.close());

    /** A creation that must succeed; the scope its access token carries. */
    async function created(k: TestKey): Promise<string> {
      const r = await calls.create(k);
      assert.equal(r.status, 200, r.text);
      return String(decodeJwt(r.body.payload.accessToken as string).scope);
    }
    async function refused(k: TestKey, status: number, code: string): Promise<void> {
      const r = await calls.create(k);
      assert.equal(r.status, status, r.text);
      assert.deepEqual(r.body.codeList, { error: [code] });
    }

    it('a warm cache: creations after the first read the key no more', async () => {
      const k = await seedServiceKey(t.core);
      reads = 0;
      for (let i = 0; i < 3; i++) assert.equal(await created(k), k.actions.join(' '));
      assert.equal(reads, 1);
      await refused({ ...k, secretKey: (await seedServiceKey(t.core)).secretKey }, 401, 'invalid_keys');
    });

    it('actions changed behind the cache: the next token carries the new ones', async () => {
      const k = await seedServiceKey(t.core);
      await created(k);
      assert.ok(await t.core.store.serviceAccounts.setActions(k.serviceAccountId, ['dns_orders_list']));
      assert.equal(await created(k), 'dns_orders_list');
    });

    const disables = [
      { what: 'account', code: 'account_disabled', set: (k: TestKey, status: 'active' | 'disabled') => t.core.store.accounts.setStatus(k.accountId, status) },
      { what: 'service account', code: 'service_account_disabled', set: (k: TestKey, status: 'active' | 'disabled') => t.core.store.serviceAccounts.setStatus(k.serviceAccountId, status) },
    ];
    for (const { what, code, set } of disables) {
      it(`the ${what} disabled behind the cache: refused at once, and served again once enabled`, async () => {
        const k = await seedServiceKey(t.core);
        await created(k);
        assert.ok(await set(k, 'disabled'));
        await refused(k, 403, code);
        assert.ok(await set(k, 'active'));
        await created(k);
      });
    }

    it('the key revoked behind the cache: refused at once', async () => {
      const k = await seedServiceKey(t.core);
      await created(k);
      assert.ok(await t.core.store.serviceKeys.revoke(k.keyId, t.core.clock.now()));
      await refused(k, 401, 'keys_revoked');
      const sessions = await t.core.store.sessions.listActiveByAccount(k.accountId, t.core.clock.now());
      assert.equal(sessions.length, 1, 'only the creation before the revocation made a session');
    });
  });
}
