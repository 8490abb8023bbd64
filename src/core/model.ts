/** The domain's records, as core sees them: plain data, times in unix milliseconds. */

export type AccountStatus = 'active' | 'disabled';

export interface Account {
  id: number;
  uid: string;
  email: string;
  name: string | null;
  status: AccountStatus;
  isDemo: boolean;
  createdAt: number;
}

export interface App {
  id: number;
  appId: string;
  accountId: number;
  name: string;
  createdAt: number;
}

/** What started a session: a `tokens.make` login, or a service-account key. */
export type SessionKind = 'chatapp' | 'service';

export interface Session {
  id: string;
  accountId: number;
  kind: SessionKind;
  /** The appId (chatapp) or the Access Key (service) the session was started with. */
  clientId: string;
  /** Space-separated actions granted to the session (service accounts); empty for chatapp. */
  scope: string;
  generation: number;
  createdAt: number;
  /** Absolute end of the session (SPEC 4), already bounded by the key's expiry for service sessions. */
  expiresAt: number;
  revokedAt: number | null;
}

export interface AuditEvent {
  id: number;
  at: number;
  type: AuditType;
  accountId: number | null;
  sessionId: string | null;
  address: string | null;
  /** Structured, secret-free details. */
  detail: Record<string, unknown>;
}

export type AuditType =
  | 'account.created'
  | 'account.disabled'
  | 'account.enabled'
  | 'app.created'
  | 'login.succeeded'
  | 'login.failed'
  | 'login.throttled'
  | 'quota.exceeded'
  | 'session.refreshed'
  | 'session.reuse_detected'
  | 'session.revoked';
