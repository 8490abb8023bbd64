/**
 * The console's only way to talk to tokend: same-origin fetch to /api/cabinet and /api/admin.
 * The sign-in cookie is HttpOnly (this code never sees it); the CSRF token from sign-in or /me is
 * kept in memory only and sent back in X-CSRF-Token on every state change.
 */
import type { Static } from '@sinclair/typebox';
import type * as records from '../../src/http/native/admin/records-schemas.ts';
import type * as stats from '../../src/http/native/admin/stats-schemas.ts';
import type * as schemas from '../../src/http/native/console-schemas.ts';
import type * as webhookSchemas from '../../src/http/native/webhook-schemas.ts';

export type Area = 'cabinet' | 'admin';

export type FieldError = Static<typeof schemas.FieldErrorView>;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldError[];
  readonly retryAfterSeconds: number | null;
  constructor(status: number, code: string, message: string, fields: FieldError[] = [], retryAfterSeconds: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** The message of the field with this name, if the server blamed it. */
  /** The error of field `name`, or of a part of it (`ipAllowList[2]`, `credits.cost`). */
  field(name: string): FieldError | undefined {
    return this.fields.find((f) => f.name === name || f.name.startsWith(`${name}[`) || f.name.startsWith(`${name}.`));
  }
}

const csrf: Record<Area, string | null> = { cabinet: null, admin: null };
const onSignedOut: Record<Area, (() => void) | null> = { cabinet: null, admin: null };

export function setCsrfToken(area: Area, token: string | null): void {
  csrf[area] = token;
}

/** Called when the server says the sign-in of `area` is gone (expired, revoked, account disabled). */
export function onUnauthenticated(area: Area, handler: (() => void) | null): void {
  onSignedOut[area] = handler;
}

export async function api<T>(area: Area, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = csrf[area];
  if (method !== 'GET' && token) headers['x-csrf-token'] = token;
  let res: Response;
  try {
    res = await fetch(`/api/${area}${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'network', 'network error');
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const error = (data as { error?: { code?: string; message?: string; fields?: FieldError[] } } | null)?.error;
    const retry = res.headers.get('retry-after');
    const e = new ApiError(res.status, error?.code ?? 'http_' + res.status, error?.message ?? res.statusText, error?.fields ?? [], retry ? Number(retry) : null);
    const isSignIn = path === '/session' && method === 'POST';
    if (e.code === 'unauthenticated' && !isSignIn) {
      setCsrfToken(area, null);
      onSignedOut[area]?.();
    }
    throw e;
  }
  return data as T;
}

// ---- shapes the APIs return: the server's response schemas (one copy, so they cannot drift) ----

export type Account = Static<typeof schemas.AccountView>;
export type SessionInfo = Static<typeof schemas.SessionInfoView>;
export type Me = Static<typeof schemas.MeView>;
export type OperatorMe = Static<typeof schemas.OperatorMe>;
export type App = Static<typeof schemas.AppView>;
export type AppList = Static<typeof schemas.AppList>;
export type ApiTokenItem = Static<typeof schemas.ApiTokenView>;
export type ApiTokenFormat = ApiTokenItem['format'];
export type ApiTokenList = Static<typeof schemas.ApiTokenList>;
export type NewApiToken = Static<typeof schemas.NewApiToken>;
export type RotatedApiToken = Static<typeof schemas.RotatedApiToken>;
export type ServiceKeyItem = Static<typeof schemas.ServiceKeyView>;
export type ServiceAccountItem = Static<typeof schemas.ServiceAccountView>;
export type ServiceAccountList = Static<typeof schemas.ServiceAccountList>;
export type NewServiceKey = Static<typeof schemas.NewServiceKey>;
export type SessionItem = Static<typeof schemas.SessionView>;
export type SessionList = Static<typeof schemas.SessionList>;
export type AuditItem = Static<typeof schemas.AuditView>;
export type AuditPage = Static<typeof schemas.AuditPage>;
export type AccountPage = Static<typeof schemas.AccountPage>;
export type Usage = Static<typeof schemas.UsageView>;
export type ClientAdvice = Static<typeof schemas.ClientAdviceView>;
export type TokenUsage = Static<typeof schemas.TokenUsageView>;
export type Policy = Static<typeof schemas.PolicyView>;
export type SigningKeyItem = Static<typeof schemas.SigningKeyView>;
export type SigningKeyList = Static<typeof schemas.SigningKeyList>;
export type SettingItem = Static<typeof schemas.SettingView>;
export type Settings = Static<typeof schemas.SettingsView>;

// The admin API's views of an account's records: the same records, with the owning account.
export type AdminAppPage = Static<typeof records.AdminAppPage>;
export type AdminServiceAccountPage = Static<typeof records.AdminServiceAccountPage>;
export type AdminNewServiceKey = Static<typeof records.AdminNewServiceKey>;
export type AdminApiTokenPage = Static<typeof records.AdminApiTokenPage>;
export type AdminNewApiToken = Static<typeof records.AdminNewApiToken>;
export type AdminRotatedApiToken = Static<typeof records.AdminRotatedApiToken>;
export type AdminSessionPage = Static<typeof records.AdminSessionPage>;
export type AdminAuditItem = Static<typeof records.AdminAuditView>;
export type AdminAuditPage = Static<typeof records.AdminAuditPage>;
export type InstanceUsage = Static<typeof records.InstanceUsage>;
export type TrafficReport = Static<typeof stats.TrafficView>;
export type { TrafficRange } from '../../src/core/traffic-names.ts';
export type OperatorKeyItem = Static<typeof schemas.OperatorKeyView>;
export type OperatorKeyList = Static<typeof schemas.OperatorKeyList>;
export type NewOperatorKey = Static<typeof schemas.NewOperatorKey>;
export type ResetLink = Static<typeof schemas.ResetLinkView>;
export type WebhookEndpointItem = Static<typeof webhookSchemas.WebhookEndpointView>;
export type WebhookEndpointPage = Static<typeof webhookSchemas.WebhookEndpointPage>;
export type NewWebhookEndpoint = Static<typeof webhookSchemas.NewWebhookEndpoint>;
export type WebhookDeliveryPage = Static<typeof webhookSchemas.WebhookDeliveryPage>;
export type WebhookAttemptPage = Static<typeof webhookSchemas.WebhookAttemptPage>;
