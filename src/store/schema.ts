/** Table types for Kysely. Times are unix milliseconds (INTEGER / BIGINT); flags are 0/1 integers. */
import type { Generated } from 'kysely';

export interface AccountsTable {
  id: Generated<number>;
  uid: string;
  email: string;
  password_hash: string;
  name: string | null;
  status: string;
  is_demo: number;
  created_at: number;
}

export interface AppsTable {
  id: Generated<number>;
  app_id: string;
  account_id: number;
  name: string;
  created_at: number;
}

export interface SessionsTable {
  id: string;
  account_id: number;
  kind: string;
  client_id: string;
  scope: string;
  generation: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoke_reason: string | null;
}

export interface AccessTokensTable {
  hash: string;
  session_id: string;
  generation: number;
  created_at: number;
  expires_at: number;
}

export interface RefreshTokensTable {
  hash: string;
  session_id: string;
  generation: number;
  created_at: number;
  expires_at: number;
  rotated_at: number | null;
}

export interface CountersTable {
  scope: string;
  window_start: number;
  count: number;
  expires_at: number;
}

export interface AuditEventsTable {
  id: Generated<number>;
  at: number;
  type: string;
  account_id: number | null;
  session_id: string | null;
  address: string | null;
  detail: string;
}

export interface DB {
  accounts: AccountsTable;
  apps: AppsTable;
  sessions: SessionsTable;
  access_tokens: AccessTokensTable;
  refresh_tokens: RefreshTokensTable;
  counters: CountersTable;
  audit_events: AuditEventsTable;
}
