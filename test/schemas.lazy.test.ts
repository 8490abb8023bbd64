/**
 * Route schemas compile on their first request (src/http/lazy-schemas.ts): a started app has
 * compiled nothing it was not asked for, every schema it deferred still compiles, and a route
 * validates and serializes as before on its first request and after.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { compileAllSchemas } from '../src/http/app.ts';
import { startTokend, type TestTokend } from './helpers/harness.ts';

describe('route schemas compiled on first use', () => {
  let t: TestTokend;
  before(async () => {
    t = await startTokend({ db: 'sqlite' });
  });
  after(async () => {
    await t?.close();
  });

  it('a route validates its input and shapes its answer on its first request', async () => {
    // A body that fails the ChatApp login schema: the dialect's 400, from the validator compiled now.
    const refused = await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: 'a@example.com' } });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.json().success, false);
    // A response schema drops what it does not declare: the serializer compiled now does too.
    const health = await t.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.statusCode, 200);
  });

  it('every schema the app deferred compiles', () => {
    const compiled = compileAllSchemas(t.app);
    assert.ok(compiled > 100, `only ${compiled} schemas were deferred`);
    assert.equal(compileAllSchemas(t.app), 0, 'compiled twice');
  });
});
