/**
 * Revocations pushed to resource servers, on SQLite and PostgreSQL: `GET /revocations/stream`
 * (Server-Sent Events, read from the audit chain) and the SDK's listener, with which a local JWT
 * verifier rejects a revoked session's, key's or account's token within about a second instead of
 * at its expiry. Resuming with Last-Event-ID misses nothing; the stream needs a credential.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createJwtVerifier, createRevocationListener, type RevocationListener, type TokenVerifier, type VerifyResult } from '../client/src/index.ts';
import { pino } from 'pino';
import { buildApp } from '../src/http/app.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const CTX = { address: 'test' };

function reason(result: VerifyResult): string {
  return result.active ? 'active' : result.reason;
}

/** Reads a stream's events until `count` arrived (or `ms` passed). */
async function readEvents(url: string, headers: Record<string, string>, count: number, ms = 5000): Promise<{ id: string; data: Record<string, unknown> }[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: { id: string; data: Record<string, unknown> }[] = [];
  let buffer = '';
  try {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id && data) events.push({ id, data: JSON.parse(data) });
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

for (const db of databases()) {
  describe(`revocations pushed (${db})`, () => {
    let t: TestTokend;
    let credential: string;
    let listener: RevocationListener;
    let verify: TokenVerifier;

    before(async () => {
      t = await startTokend({ db, listen: true, config: { revocationStreamPoll: 50 } });
      credential = (await t.core.callers.createResourceServer('revocation test', CTX)).token;
      listener = createRevocationListener({ url: `${t.url}/revocations/stream`, credential });
      verify = createJwtVerifier({ jwksUrl: `${t.url}/.well-known/jwks.json`, issuer: t.config.jwtIssuer, audience: t.config.jwtAudience, revocations: listener });
      await listener.ready();
    });
    after(async () => {
      listener.close();
      await t.close();
    });

    async function serviceToken(accountId?: number): Promise<{ accessToken: string; accessKey: string; accountId: number; sessionId: string; keyId: number }> {
      const owner = accountId ?? (await seedAccount(t.core)).accountId;
      const sa = await t.core.serviceAccounts.create({ accountId: owner, name: 'robot', actions: ['orders_read'] }, CTX);
      const { key, secretKey } = await t.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, CTX);
      const outcome = await t.core.serviceAccounts.createTokens({ accessKey: key.accessKey, secretKey }, CTX);
      assert.ok(outcome.ok);
      return { accessToken: outcome.pair.accessToken, accessKey: key.accessKey, accountId: owner, sessionId: outcome.pair.session.id, keyId: key.id };
    }

    async function rejectedWithin(token: string, ms: number): Promise<number> {
      const started = Date.now();
      for (;;) {
        const r = await verify(token);
        if (!r.active) {
          assert.equal(reason(r), 'revoked');
          return Date.now() - started;
        }
        if (Date.now() - started > ms) assert.fail(`still accepted after ${ms} ms`);
        await sleep(20);
      }
    }

    it("rejects a revoked session's JWT locally within about a second", async () => {
      const s = await serviceToken();
      assert.equal(reason(await verify(s.accessToken)), 'active');
      assert.ok(await t.core.sessions.revoke(s.sessionId, CTX, 'test'));
      const took = await rejectedWithin(s.accessToken, 1500);
      assert.ok(took < 1500, `${took} ms`);
    });

    if (db === 'postgres') {
      it('a JWT revoked on one node is rejected by a verifier following another node within a second (default poll)', async () => {
        const other = await startTokend({ db: t.db, listen: true });
        const remote = createRevocationListener({ url: `${other.url}/revocations/stream`, credential });
        try {
          const verifyRemote = createJwtVerifier({ jwksUrl: `${other.url}/.well-known/jwks.json`, issuer: t.config.jwtIssuer, audience: t.config.jwtAudience, revocations: remote });
          await remote.ready();
          const s = await serviceToken();
          assert.equal(reason(await verifyRemote(s.accessToken)), 'active');
          const revokedAt = Date.now();
          assert.ok(await t.core.sessions.revoke(s.sessionId, CTX, 'test'));
          for (;;) {
            const r = await verifyRemote(s.accessToken);
            if (!r.active) {
              assert.equal(reason(r), 'revoked');
              break;
            }
            assert.ok(Date.now() - revokedAt < 1000, `still accepted ${Date.now() - revokedAt} ms after the revocation on the other node`);
            await sleep(20);
          }
        } finally {
          remote.close();
          await other.close();
        }
      });
    }

    it("rejects every JWT of a revoked key, and of a disabled account", async () => {
      const a = await serviceToken();
      assert.equal(reason(await verify(a.accessToken)), 'active');
      await t.core.serviceAccounts.revokeKey(a.keyId, CTX);
      await rejectedWithin(a.accessToken, 1500);

      const b = await serviceToken();
      const other = await serviceToken();
      assert.equal(reason(await verify(b.accessToken)), 'active');
      await t.core.accounts.setStatus(b.accountId, 'disabled', CTX);
      await rejectedWithin(b.accessToken, 1500);
      assert.equal(reason(await verify(other.accessToken)), 'active', "another account's token is untouched");
      // Enabled again: tokens issued from then on are good (a revocation covers what was issued until it).
      await t.core.accounts.setStatus(b.accountId, 'active', CTX);
      await sleep(1100);
      const again = await serviceToken(b.accountId);
      assert.equal(reason(await verify(again.accessToken)), 'active');
      assert.equal(reason(await verify(b.accessToken)), 'revoked', 'the old one stays refused');
    });

    it('catches up on what was revoked before it connected, and resumes after Last-Event-ID', async () => {
      const early = await serviceToken();
      await t.core.sessions.revoke(early.sessionId, CTX, 'test');
      const late = createRevocationListener({ url: `${t.url}/revocations/stream`, credential, lookbackMs: 60_000 });
      try {
        await late.ready();
        assert.ok(late.isRevoked({ sid: early.sessionId }), 'a listener started later knows it');
      } finally {
        late.close();
      }

      const url = `${t.url}/revocations/stream?since=${Date.now() - 60_000}`;
      const all = await readEvents(url, { authorization: `Bearer ${credential}` }, 3);
      assert.ok(all.length >= 3, JSON.stringify(all));
      const seqs = all.map((e) => Number(e.id));
      assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'in chain order');
      const resumed = await readEvents(`${t.url}/revocations/stream`, { authorization: `Bearer ${credential}`, 'last-event-id': all[0]!.id }, 2);
      assert.deepEqual(resumed.slice(0, 2).map((e) => e.id), all.slice(1, 3).map((e) => e.id), 'resumes right after the last seen event');
      assert.deepEqual(Object.keys(all[0]!.data).sort(), ['accountId', 'at', 'id', 'kind']);
    });

    it('answers one JSON page to a client that does not ask for a stream', async () => {
      const s = await serviceToken();
      const start = (await (await fetch(`${t.url}/revocations/stream`, { headers: { authorization: `Bearer ${credential}` } })).json()) as { items: unknown[]; lastId: string };
      assert.deepEqual(start.items, [], 'from now: nothing yet, and where to start');
      await t.core.sessions.revoke(s.sessionId, CTX, 'test');
      const res = await fetch(`${t.url}/revocations/stream`, { headers: { authorization: `Bearer ${credential}`, 'last-event-id': start.lastId } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const page = (await res.json()) as { items: { kind: string; id: string; seq: number }[]; lastId: string };
      assert.deepEqual(page.items.map((i) => [i.kind, i.id]), [['session', s.sessionId]]);
      assert.equal(page.lastId, String(page.items[0]!.seq));
    });

    it('ends its streams when the node starts shutting down, so the shutdown does not wait for them', async () => {
      let draining = false;
      const app = await buildApp({ core: t.core, logger: pino({ level: 'silent' }), metrics: null, draining: () => draining });
      await app.listen({ port: 0, host: '127.0.0.1' });
      try {
        const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/revocations/stream`;
        const res = await fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${credential}` } });
        assert.equal(res.status, 200);
        const reader = res.body!.getReader();
        await reader.read();
        const started = Date.now();
        draining = true;
        for (;;) {
          const { done } = await reader.read();
          if (done) break;
        }
        assert.ok(Date.now() - started < 2000, `ended after ${Date.now() - started} ms`);
      } finally {
        await app.close();
      }
    });

    it('needs the admin token or a resource-server credential', async () => {
      assert.equal((await fetch(`${t.url}/revocations/stream`)).status, 401);
      const wrong = await fetch(`${t.url}/revocations/stream`, { headers: { authorization: 'Bearer tdx_nope' } });
      assert.equal(wrong.status, 401);
      assert.equal((await wrong.json()).error.code, 'unauthenticated');
    });
  });
}
