/**
 * The SDK's token lifecycle against a scripted fake API, for the paths a real tokend cannot be
 * made to take on demand: a freshly renewed token refused again, a 503 during refresh, network
 * failures. The invariant under test: a bounded number of calls, never a loop.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileTokenStore } from '../client/src/file-store.ts';
import {
  ApiError,
  ChatAppClient,
  HosterClient,
  InvalidCredentialsError,
  InvalidTokenError,
  MemoryTokenStore,
  NetworkError,
  ServiceUnavailableError,
  TooManyAttemptsError,
  UnexpectedResponseError,
  ValidationError,
  type ChatAppTokens,
  type FetchLike,
  type HosterTokens,
} from '../client/src/index.ts';

type Handler = (path: string, method: string, headers: Headers) => { status: number; body: unknown; headers?: Record<string, string> };

function fakeApi(handler: Handler): { fetch: FetchLike; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: async (input, init) => {
      const url = new URL(String(input));
      const method = init?.method ?? 'GET';
      calls.push(`${method} ${url.pathname}`);
      const r = handler(url.pathname, method, new Headers(init?.headers));
      return new Response(typeof r.body === 'string' ? r.body : JSON.stringify(r.body), {
        status: r.status,
        headers: { 'content-type': 'application/json', ...r.headers },
      });
    },
  };
}

let n = 0;
function pair(): { status: number; body: unknown } {
  n++;
  return {
    status: 200,
    body: { success: true, data: { cabinetUserId: 7, accessToken: `a${n}`, accessTokenEndTime: 2e9, refreshToken: `r${n}`, refreshTokenEndTime: 2e9 } },
  };
}
const chatErr = (status: number, code: string, headers?: Record<string, string>) => ({
  status,
  body: { success: false, error: { code, message: code } },
  ...(headers ? { headers } : {}),
});
const CREDS = { email: 'a@example.com', password: 'secret-password', appId: 'app' };

describe('SDK token lifecycle (scripted API)', () => {
  it('a renewed token refused again: one refresh, one retry, a typed error, no loop', async () => {
    const api = fakeApi((path) => (path === '/v1/tokens' || path === '/v1/tokens/refresh' ? pair() : chatErr(401, 'ApiInvalidTokenError')));
    const client = new ChatAppClient({ baseUrl: 'http://api.test', credentials: CREDS, fetch: api.fetch });
    await assert.rejects(client.check(), InvalidTokenError);
    assert.deepEqual(api.calls, ['POST /v1/tokens', 'GET /v1/tokens/check', 'POST /v1/tokens/refresh', 'GET /v1/tokens/check']);
  });

  it('a rejected refresh token leads to exactly one make, even if that pair is refused too', async () => {
    const api = fakeApi((path) => {
      if (path === '/v1/tokens') return pair();
      if (path === '/v1/tokens/refresh') return chatErr(401, 'ApiRefreshTokenExpiredError');
      return chatErr(401, 'ApiInvalidTokenError');
    });
    const client = new ChatAppClient({ baseUrl: 'http://api.test', credentials: CREDS, fetch: api.fetch });
    await assert.rejects(client.check(), InvalidTokenError);
    assert.deepEqual(api.calls, ['POST /v1/tokens', 'GET /v1/tokens/check', 'POST /v1/tokens/refresh', 'POST /v1/tokens', 'GET /v1/tokens/check']);
  });

  it('a 503 during refresh does not spend a make, keeps the stored pair and carries the retry time', async () => {
    const store = new MemoryTokenStore<ChatAppTokens>();
    const api = fakeApi((path) => {
      if (path === '/v1/tokens') return pair();
      if (path === '/v1/tokens/refresh') return chatErr(503, 'ApiServiceUnavailableError', { 'retry-after': '5' });
      return chatErr(401, 'ApiInvalidTokenError');
    });
    const client = new ChatAppClient({ baseUrl: 'http://api.test', credentials: CREDS, fetch: api.fetch, store });
    const error = await client.check().catch((e: unknown) => e);
    assert.ok(error instanceof ServiceUnavailableError);
    assert.equal(error.retryAfterSeconds, 5);
    assert.ok(error.retryAt && error.retryAt.getTime() > Date.now());
    assert.equal(api.calls.filter((c) => c === 'POST /v1/tokens').length, 1);
    assert.equal(store.load()?.refreshToken, `r${n}`, 'the pair is kept for the next attempt');
  });

  it('wrong credentials: a typed error, one call per request, never a retry loop', async () => {
    const api = fakeApi(() => chatErr(401, 'ApiInvalidCredentialsError'));
    const client = new ChatAppClient({ baseUrl: 'http://api.test', credentials: CREDS, fetch: api.fetch });
    await assert.rejects(client.check(), InvalidCredentialsError);
    assert.deepEqual(api.calls, ['POST /v1/tokens']);
  });

  it('too many attempts blocks logins until Retry-After', async () => {
    const api = fakeApi(() => chatErr(429, 'ApiTooManyAttemptsError', { 'retry-after': '900' }));
    const client = new ChatAppClient({ baseUrl: 'http://api.test', credentials: CREDS, fetch: api.fetch });
    const error = await client.check().catch((e: unknown) => e);
    assert.ok(error instanceof TooManyAttemptsError);
    assert.equal(error.retryAfterSeconds, 900);
    await assert.rejects(client.check(), TooManyAttemptsError);
    assert.equal(api.calls.length, 1);
  });

  it('other API errors are returned by fetch as they are, and typed by request()', async () => {
    const api = fakeApi((path) =>
      path === '/v1/tokens'
        ? pair()
        : { status: 400, body: { success: false, error: { code: 'ApiValidationError', message: 'Validation error', fields: [{ name: 'x', code: 'required', message: 'is required' }] } } },
    );
    const client = new ChatAppClient({ baseUrl: 'http://api.test', apiUrl: 'http://api.test/base/', credentials: CREDS, fetch: api.fetch });
    const response = await client.fetch('/orders');
    assert.equal(response.status, 400);
    const error = await client.request('orders').catch((e: unknown) => e);
    assert.ok(error instanceof ValidationError && error instanceof ApiError);
    assert.equal(error.fields[0]?.name, 'x');
    assert.deepEqual(api.calls, ['POST /v1/tokens', 'GET /base/orders', 'GET /base/orders']);
  });

  it('a network failure is a NetworkError that names no secret', async () => {
    const client = new ChatAppClient({
      baseUrl: 'http://api.test',
      credentials: CREDS,
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    const error = await client.check().catch((e: unknown) => e);
    assert.ok(error instanceof NetworkError);
    assert.equal(error.code, 'ERR_NETWORK');
    assert.ok(!error.message.includes(CREDS.password));
  });

  it('an answer without the envelope is an UnexpectedResponseError', async () => {
    const client = new ChatAppClient({
      baseUrl: 'http://api.test',
      credentials: CREDS,
      fetch: async () => new Response('<html>bad gateway</html>', { status: 502 }),
    });
    const error = await client.check().catch((e: unknown) => e);
    assert.ok(error instanceof UnexpectedResponseError);
    assert.equal(error.status, 502);
  });

  it('stored tokens of another scheme are ignored', async () => {
    const store = new MemoryTokenStore<ChatAppTokens>({ scheme: 'hoster' } as unknown as ChatAppTokens);
    const api = fakeApi((path) => (path === '/v1/tokens' ? pair() : { status: 200, body: { success: true, data: { cabinetUserId: 7 } } }));
    await new ChatAppClient({ baseUrl: 'http://api.test', credentials: CREDS, fetch: api.fetch, store }).check();
    assert.equal(api.calls[0], 'POST /v1/tokens');
  });
});

describe('hoster.by client (scripted API)', () => {
  const envelope = (code: string, payload: Record<string, unknown>): unknown => ({
    httpCode: 200,
    statusCode: 'ok',
    payload,
    messageList: { success: { [code]: 'ok' } },
    codeList: { success: [code] },
  });
  const error = (status: number, code: string): { status: number; body: string } => ({
    status,
    // Pretty-printed like the real dialect: the client must not care.
    body: JSON.stringify({ httpCode: status, statusCode: 'error', messageList: { error: { [code]: code } }, codeList: { error: [code] } }, null, 4),
  });

  it('refreshes before the request when dateExpires has passed, and on access_token_expired', async () => {
    let now = 1_000_000_000_000;
    let issued = 0;
    const live = new Set<string>();
    const api = fakeApi((path, _method, headers) => {
      if (path === '/service/account/create/token' || path === '/token/refresh') {
        issued++;
        live.clear();
        live.add(`jwt${issued}`);
        return { status: 200, body: envelope('ok', { accessToken: `jwt${issued}`, refreshToken: `r${issued}`, userId: 5, dateExpires: now / 1000 + 3600 }) };
      }
      if (headers.get('x-user-id') !== '5') return error(401, 'user_id_mismatch');
      return live.has(headers.get('access-token') ?? '') ? { status: 200, body: envelope('token_info', { userId: 5, dateExpires: 0 }) } : error(401, 'access_token_expired');
    });
    const store = new MemoryTokenStore<HosterTokens>();
    const client = new HosterClient({ baseUrl: 'http://api.test', accessKey: 'ak', secretKey: 'sk', fetch: api.fetch, store, now: () => now });
    await client.info();
    now += 3600_000; // dateExpires passed: refresh first, no refused request
    await client.info();
    assert.deepEqual(api.calls, ['POST /service/account/create/token', 'GET /token/info/access', 'PATCH /token/refresh', 'GET /token/info/access']);
    live.clear(); // revoked or expired early: the API says so
    api.calls.splice(0);
    await client.info();
    assert.deepEqual(api.calls, ['GET /token/info/access', 'PATCH /token/refresh', 'GET /token/info/access']);
    assert.equal(store.load()?.refreshToken, `r${issued}`);
  });

  it('a rejected refresh token leads to one new token from the keys', async () => {
    const api = fakeApi((path) => {
      if (path === '/service/account/create/token') return { status: 200, body: envelope('ok', { accessToken: 'j', refreshToken: 'r', userId: 5, dateExpires: 4e9 }) };
      if (path === '/token/refresh') return error(401, 'refresh_token_not_found');
      return error(401, 'access_token_expired');
    });
    const client = new HosterClient({ baseUrl: 'http://api.test', accessKey: 'ak', secretKey: 'sk', fetch: api.fetch });
    await assert.rejects(client.info(), InvalidTokenError);
    assert.deepEqual(api.calls, [
      'POST /service/account/create/token',
      'GET /token/info/access',
      'PATCH /token/refresh',
      'POST /service/account/create/token',
      'GET /token/info/access',
    ]);
  });
});

describe('FileTokenStore', () => {
  it('round-trips, treats a corrupt file as empty, and clears', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokend-store-'));
    try {
      const path = join(dir, 't.json');
      const store = new FileTokenStore<{ a: number }>(path);
      assert.equal(await store.load(), null);
      await store.save({ a: 1 });
      await store.save({ a: 2 });
      assert.deepEqual(await store.load(), { a: 2 });
      writeFileSync(path, '{"a":');
      assert.equal(await store.load(), null);
      await store.clear();
      await store.clear();
      assert.equal(await store.load(), null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
