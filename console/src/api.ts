/**
 * The console's only way to talk to tokend: same-origin fetch to /api/cabinet and /api/admin.
 * The sign-in cookie is HttpOnly (this code never sees it); the CSRF token from sign-in or /me is
 * kept in memory only and sent back in X-CSRF-Token on every state change.
 */
export type Area = 'cabinet' | 'admin';

export interface FieldError {
  name: string;
  code: string;
  message: string;
}

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
  field(name: string): FieldError | undefined {
    return this.fields.find((f) => f.name === name);
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

export async function api<T>(area: Area, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
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

// ---- shapes the APIs return ---------------------------------------------------------------

export interface Account {
  id: number;
  uid: string;
  email: string;
  name: string | null;
  status: 'active' | 'disabled';
  isDemo: boolean;
  createdAt: number;
}

export interface SessionInfo {
  createdAt: number;
  expiresAt: number;
  idleTimeoutMs: number;
}

export interface Me {
  account: Account;
  csrfToken: string;
  session: SessionInfo;
  limits: { dailyMakeLimit: number };
}

export interface OperatorMe {
  operator: true;
  csrfToken: string | null;
  session: SessionInfo | null;
  database: string;
}

export interface App {
  appId: string;
  name: string;
  createdAt: number;
}

export type ApiTokenFormat = 'v3' | 'l3' | 'native';

export interface ApiTokenItem {
  id: string;
  format: ApiTokenFormat;
  hint: string;
  label: string | null;
  status: 'active' | 'grace' | 'replaced' | 'revoked' | 'expired';
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  replacedBy: string | null;
}

export interface ServiceKeyItem {
  id: number;
  accessKey: string;
  secretHint: string;
  status: 'active' | 'expired' | 'revoked';
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface ServiceAccountItem {
  id: number;
  name: string;
  actions: string[];
  status: 'active' | 'disabled';
  createdAt: number;
  lastUsedAt: number | null;
  keys: ServiceKeyItem[];
}

export interface SessionItem {
  id: string;
  kind: 'chatapp' | 'service';
  clientId: string;
  scope: string[];
  generation: number;
  createdAt: number;
  expiresAt: number;
  lastRefreshAt: number | null;
}

export interface SessionPage {
  items: SessionItem[];
  total: number;
  nextCursor: string | null;
}

export interface AuditItem {
  id: number;
  at: number;
  type: string;
  sessionId: string | null;
  address: string | null;
  detail: Record<string, unknown>;
}

export interface Usage {
  dailyMakeLimit: number;
  resetsAt: number;
  apps: { appId: string; name: string; used: number }[];
  checks: { day: number; count: number }[];
}

export interface SigningKeyItem {
  kid: string;
  alg: string;
  state: 'pending' | 'active' | 'retiring' | 'retired';
  published: boolean;
  signing: boolean;
  createdAt: number;
  activatesAt: number;
  signsUntil: number | null;
  publishedUntil: number | null;
}

export interface SettingItem {
  name: string;
  env: string;
  secret: boolean;
  value: string | null;
  set?: boolean;
  isDefault: boolean;
  default: string;
  doc: string;
}
