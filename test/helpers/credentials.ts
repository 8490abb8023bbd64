/**
 * One of every credential tokend issues, issued through core and the wire like a real client would
 * get it: for the fuzz test (real credentials take requests past authentication, so that what lies
 * behind it is fuzzed too) and the secret-hygiene test (every secret issued must stay out of logs,
 * errors, URLs and the database).
 */
import { randomBytes } from 'node:crypto';
import type { ApiTokenFormat } from '../../src/core/model.ts';
import { CABINET_COOKIE, OPERATOR_COOKIE } from '../../src/http/native/console-auth.ts';
import { seedAccount, type TestTokend } from './harness.ts';

/** A coherent set of headers that authenticates one kind of caller. */
export interface AuthProfile {
  label: string;
  headers: Record<string, string>;
  /** Path prefixes where it authenticates (the fuzzer prefers it there); none: anywhere. */
  scopes?: string[];
}

/** Where each kind of credential is accepted: its dialect, forward-auth, and the OAuth endpoints for callers. */
const CHATAPP = ['/v1/', '/auth/verify'];
const HOSTER = ['/service/', '/token/', '/auth/verify'];
const INVOICEBOX = ['/v3/', '/l3/', '/auth/verify'];
const CALLER = ['/oauth2/', '/api/admin/'];

export interface IssuedCredentials {
  /** Every secret value issued (passwords, tokens, keys, cookies' tokens): none may leak. */
  secrets: string[];
  profiles: AuthProfile[];
  /** Ids of the records created, as route parameters worth trying. */
  ids: string[];
  /** Real JWTs, to forge variants of. */
  jwts: string[];
  account: Awaited<ReturnType<typeof seedAccount>>;
}

const CTX = { address: 'fixtures' };

/** The admin token the tests configure (TOKEND_ADMIN_TOKEN): a well-formed `tdm_…`. */
export function testAdminToken(): string {
  return `tdm_test_${randomBytes(24).toString('hex')}`;
}

export async function issueCredentials(t: TestTokend): Promise<IssuedCredentials> {
  const { core, app } = t;
  const secrets: string[] = [];
  const profiles: AuthProfile[] = [];
  const ids: string[] = [];
  const jwts: string[] = [];
  const account = await seedAccount(t.core);
  secrets.push(account.password);
  ids.push(String(account.accountId), account.uid, account.appId);

  // ChatApp: a pair through the wire, then a rotation (the first pair is now a rotated one).
  const made = await app.inject({
    method: 'POST',
    url: '/v1/tokens',
    payload: { email: account.email, password: account.password, appId: account.appId },
  });
  if (made.statusCode === 200) {
    const first = made.json().data as { accessToken: string; refreshToken: string };
    const refreshed = await app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: first.refreshToken } });
    const second = refreshed.json().data as { accessToken: string; refreshToken: string };
    secrets.push(first.accessToken, first.refreshToken, second.accessToken, second.refreshToken);
    profiles.push(
      { label: 'chatapp access token', headers: { authorization: second.accessToken }, scopes: CHATAPP },
      { label: 'chatapp access token (Bearer)', headers: { authorization: `Bearer ${second.accessToken}` }, scopes: CHATAPP },
      { label: 'chatapp refresh token', headers: { refresh: second.refreshToken }, scopes: CHATAPP },
      { label: 'rotated chatapp access token', headers: { authorization: first.accessToken }, scopes: CHATAPP },
    );
  }

  // Organisation API tokens in every format.
  for (const format of ['v3', 'l3', 'native'] as ApiTokenFormat[]) {
    const created = await core.apiTokens.create({ accountId: account.accountId, format, label: `fuzz ${format}` }, CTX);
    secrets.push(created.token);
    ids.push(created.apiToken.id);
    profiles.push({ label: `${format} API token`, headers: { authorization: `Bearer ${created.token}` }, scopes: INVOICEBOX });
  }

  // A service account, a key, and its JWT pair through the hoster wire.
  const sa = await core.serviceAccounts.create({ accountId: account.accountId, name: 'fuzz', actions: ['dns_orders_list', 'billing_read'] }, CTX);
  const key = await core.serviceAccounts.createKey({ serviceAccountId: sa.id }, CTX);
  secrets.push(key.secretKey);
  ids.push(String(sa.id), String(key.key.id), key.key.accessKey);
  profiles.push({ label: 'service-account keys', headers: { 'access-key': key.key.accessKey, 'secret-key': key.secretKey }, scopes: HOSTER });
  const pair = await core.serviceAccounts.createTokens({ accessKey: key.key.accessKey, secretKey: key.secretKey }, CTX);
  if (pair.ok) {
    const userId = String(pair.pair.session.accountId);
    secrets.push(pair.pair.accessToken, pair.pair.refreshToken);
    jwts.push(pair.pair.accessToken);
    ids.push(pair.pair.session.id);
    profiles.push(
      { label: 'service JWT', headers: { 'x-user-id': userId, 'access-token': pair.pair.accessToken }, scopes: HOSTER },
      { label: 'service JWT without user id', headers: { 'access-token': pair.pair.accessToken }, scopes: HOSTER },
      { label: 'service JWT as Bearer', headers: { authorization: `Bearer ${pair.pair.accessToken}` }, scopes: HOSTER },
      { label: 'service refresh token', headers: { 'x-user-id': userId, 'refresh-token': pair.pair.refreshToken }, scopes: HOSTER },
    );
  }

  // The operator: the admin token, and a resource server's credential (introspection, revocation).
  const admin = core.config.adminToken;
  if (admin) {
    secrets.push(admin);
    profiles.push({ label: 'admin token', headers: { authorization: `Bearer ${admin}` }, scopes: CALLER });
  }
  const rs = await core.callers.createResourceServer('fuzz', CTX);
  secrets.push(rs.token);
  ids.push(rs.server.id);
  profiles.push({ label: 'resource-server credential', headers: { authorization: `Bearer ${rs.token}` }, scopes: CALLER });

  // An operator key (admin API, a few permissions) and a one-time password-reset link's token.
  const operatorKey = await core.operatorKeys.create({ name: 'fuzz', permissions: ['accounts:read', 'policies:read', 'settings:read'], expiresAt: null }, CTX);
  secrets.push(operatorKey.key);
  ids.push(operatorKey.operatorKey.id);
  profiles.push({ label: 'operator key', headers: { authorization: `Bearer ${operatorKey.key}` }, scopes: ['/api/admin/'] });
  const reset = await core.accounts.issuePasswordReset(account.accountId, 3_600_000, CTX);
  if (reset) secrets.push(reset.token);

  // Console sign-ins: the cabinet (email + password) and the operator (admin token), with CSRF.
  const cabinet = await core.console.signInAccount({ email: account.email, password: account.password }, { ...CTX, userAgent: null });
  if (cabinet.ok) {
    secrets.push(cabinet.token);
    profiles.push({
      label: 'cabinet sign-in',
      headers: { cookie: `${CABINET_COOKIE.name}=${cabinet.token}`, 'x-csrf-token': core.console.csrfToken(cabinet.token) },
      scopes: ['/api/cabinet/'],
    });
  }
  if (admin) {
    const operator = await core.console.signInOperator(admin, { ...CTX, userAgent: null });
    if (operator.ok) {
      secrets.push(operator.token);
      profiles.push({
        label: 'operator sign-in',
        headers: { cookie: `${OPERATOR_COOKIE.name}=${operator.token}`, 'x-csrf-token': core.console.csrfToken(operator.token) },
        scopes: ['/api/admin/'],
      });
    }
  }
  return { secrets, profiles, ids, jwts, account };
}
