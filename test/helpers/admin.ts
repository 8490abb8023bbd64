/** Calling the admin API as a script would: `Authorization: Bearer` with the admin token or an operator key. */
import { strict as assert } from 'node:assert';
import type { LightMyRequestResponse } from 'fastify';
import type { TestTokend } from './harness.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface AdminCall {
  (method: Method, url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

/** A caller bound to one credential (null: none). `remoteAddress` sets the client address. */
export function adminCaller(t: TestTokend, credential: string | null, remoteAddress?: string): AdminCall {
  return (method, url, body, headers = {}) => {
    const h: Record<string, string> = { ...headers };
    if (credential !== null && !('authorization' in h)) h.authorization = `Bearer ${credential}`;
    if (body !== undefined) h['content-type'] ??= 'application/json';
    return t.app.inject({
      method,
      url,
      headers: h,
      ...(remoteAddress ? { remoteAddress } : {}),
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
  };
}

/** Creates an operator key with the admin token; returns the key (shown once) and its id. */
export async function createOperatorKey(
  t: TestTokend,
  adminToken: string,
  permissions: string[],
  extra: { name?: string; expiresIn?: string } = {},
): Promise<{ id: string; key: string }> {
  const res = await adminCaller(t, adminToken)('POST', '/api/admin/operator-keys', { name: extra.name ?? 'test key', permissions, ...(extra.expiresIn ? { expiresIn: extra.expiresIn } : {}) });
  assert.equal(res.statusCode, 201, res.body);
  const { id, key } = res.json() as { id: string; key: string };
  return { id, key };
}
