/** Shared pieces of the hoster.by-scheme tests: service accounts, keys, and the four calls. */
import { strict as assert } from 'node:assert';
import type { Core } from '../../src/core/tokend.ts';
import { seedAccount, type TestTokend } from './harness.ts';

export const CTX = { address: 'test' } as const;

export interface TestKey {
  accountId: number;
  serviceAccountId: number;
  keyId: number;
  accessKey: string;
  secretKey: string;
  actions: string[];
}

/** A fresh account with a service account and one key. */
export async function seedServiceKey(
  core: Core,
  options: { actions?: string[]; expiresAt?: number | null; accountId?: number } = {},
): Promise<TestKey> {
  const accountId = options.accountId ?? (await seedAccount(core)).accountId;
  const actions = options.actions ?? ['dns_orders_list', 'dns_records_edit'];
  const sa = await core.serviceAccounts.create({ accountId, name: 'test robot', actions }, CTX);
  const { key, secretKey } = await core.serviceAccounts.createKey({ serviceAccountId: sa.id, expiresAt: options.expiresAt ?? null }, CTX);
  return { accountId, serviceAccountId: sa.id, keyId: key.id, accessKey: key.accessKey, secretKey, actions };
}

export interface WireAnswer {
  status: number;
  text: string;
  body: Record<string, any>;
  headers: Record<string, string | string[] | number | undefined>;
}

async function call(t: TestTokend, method: string, url: string, headers: Record<string, string>, payload?: string): Promise<WireAnswer> {
  const r = await t.app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
  return { status: r.statusCode, text: r.body, body: JSON.parse(r.body) as Record<string, any>, headers: r.headers };
}

/** The four calls of the hoster.by scheme (create, refresh, access info, refresh info), through inject, with the headers real clients send. */
export function hosterCalls(t: TestTokend): {
  create(k: { accessKey: string; secretKey: string }, extra?: Record<string, string>): Promise<WireAnswer>;
  refresh(userId: number | string, refreshToken: string, method?: 'PATCH' | 'POST'): Promise<WireAnswer>;
  infoAccess(accessToken: string, userId?: number | string): Promise<WireAnswer>;
  infoRefresh(userId: number | string, refreshToken: string): Promise<WireAnswer>;
  raw: typeof call;
} {
  return {
    create: (k, extra = {}) =>
      call(t, 'POST', '/service/account/create/token', { 'content-type': 'application/json', 'access-key': k.accessKey, 'secret-key': k.secretKey, ...extra }),
    refresh: (userId, refreshToken, method = 'PATCH') =>
      call(t, method, '/token/refresh', { 'content-type': 'application/json', 'x-user-id': String(userId), 'refresh-token': refreshToken }),
    infoAccess: (accessToken, userId) =>
      call(t, 'GET', '/token/info/access', { 'access-token': accessToken, ...(userId !== undefined ? { 'x-user-id': String(userId) } : {}) }),
    infoRefresh: (userId, refreshToken) => call(t, 'GET', '/token/info/refresh', { 'x-user-id': String(userId), 'refresh-token': refreshToken }),
    raw: call,
  };
}

/** Asserts a hoster error: HTTP status, `httpCode`, `statusCode: "error"`, the code, no payload. */
export function assertHosterError(a: WireAnswer, status: number, code: string): void {
  assert.equal(a.status, status, `expected ${status} ${code}, got ${a.status}: ${a.text}`);
  assert.equal(a.body.httpCode, status);
  assert.equal(a.body.statusCode, 'error');
  assert.deepEqual(a.body.codeList, { error: [code] });
  assert.equal(typeof a.body.messageList?.error?.[code], 'string');
  assert.ok(!('payload' in a.body), 'an error carries no payload');
}

/** Asserts a hoster success and returns its payload. */
export function assertHosterOk(a: WireAnswer, code: string): Record<string, any> {
  assert.equal(a.status, 200, a.text);
  assert.ok(a.text.includes('"httpCode": 200'), 'the literal "httpCode": 200');
  assert.equal(a.body.httpCode, 200);
  assert.equal(a.body.statusCode, 'ok');
  assert.deepEqual(a.body.codeList, { success: [code] });
  assert.equal(typeof a.body.messageList?.success?.[code], 'string');
  return a.body.payload as Record<string, any>;
}
