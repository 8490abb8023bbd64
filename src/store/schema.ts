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

/** The operator dashboard's figures per minute or hour (migration 0011, src/store/traffic.ts). */
export interface TrafficStatsTable {
  bucket_ms: number;
  bucket_start: number;
  series: string;
  subject: string;
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
  /** Position in the hash chain (1, 2, …); NULL for entries written before the chain began. */
  seq: number | null;
  prev_hash: string | null;
  hash: string | null;
  /** 1 while the entry waits for its link (chained after commit); NULL once linked, and for entries from before the chain. */
  chain_pending: Generated<number | null>;
}

export interface ConsoleSessionsTable {
  id: string;
  kind: string;
  account_id: number | null;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  revoked_at: number | null;
  address: string | null;
  user_agent: string | null;
}

export interface ApiTokensTable {
  id: string;
  account_id: number;
  format: string;
  hash: string;
  hint: string;
  label: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  revoke_reason: string | null;
  replaced_by: string | null;
}

export interface ResourceServersTable {
  id: string;
  name: string;
  hash: string;
  hint: string;
  created_at: number;
  revoked_at: number | null;
}

export interface InstanceSecretsTable {
  name: string;
  hash: string;
  created_at: number;
}

export interface ServiceAccountsTable {
  id: Generated<number>;
  account_id: number;
  name: string;
  /** Allowed actions, space-separated (each action is a token without spaces). */
  actions: string;
  status: string;
  created_at: number;
  last_used_at: number | null;
}

export interface ServiceKeysTable {
  id: Generated<number>;
  service_account_id: number;
  access_key: string;
  secret_hash: string;
  secret_hint: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_jwk_sealed: string;
  created_at: number;
  activates_at: number;
  max_token_ttl: number;
}

export interface PoliciesTable {
  subject_kind: string;
  subject_id: string;
  account_id: number;
  /** JSON of core's PolicyRules, validated before it is stored. */
  rules: string;
  credits_remaining: number | null;
  credits_period: number | null;
  credits_refill: number | null;
  updated_at: number;
}

export interface OperatorKeysTable {
  id: string;
  name: string;
  /** Space-separated permissions. */
  permissions: string;
  hash: string;
  hint: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface IdempotencyKeysTable {
  credential: string;
  key: string;
  request_hash: string;
  state: string;
  status: number | null;
  /** Sealed answer body. */
  response: string | null;
  created_at: number;
}

export interface PasswordResetsTable {
  id: string;
  account_id: number;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface DB {
  operator_keys: OperatorKeysTable;
  idempotency_keys: IdempotencyKeysTable;
  password_resets: PasswordResetsTable;
  service_accounts: ServiceAccountsTable;
  service_keys: ServiceKeysTable;
  signing_keys: SigningKeysTable;
  console_sessions: ConsoleSessionsTable;
  accounts: AccountsTable;
  apps: AppsTable;
  sessions: SessionsTable;
  access_tokens: AccessTokensTable;
  refresh_tokens: RefreshTokensTable;
  counters: CountersTable;
  traffic_stats: TrafficStatsTable;
  audit_events: AuditEventsTable;
  api_tokens: ApiTokensTable;
  resource_servers: ResourceServersTable;
  instance_secrets: InstanceSecretsTable;
  policies: PoliciesTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_messages: WebhookMessagesTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
}

export interface WebhookEndpointsTable {
  id: string;
  account_id: number | null;
  url: string;
  event_types: string;
  description: string | null;
  secret_sealed: string;
  secret_hint: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

export interface WebhookMessagesTable {
  id: string;
  type: string;
  account_id: number | null;
  payload: string;
  created_at: number;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  message_id: string;
  endpoint_id: string;
  status: string;
  attempts: Generated<number>;
  next_attempt_at: number;
  claimed_until: number | null;
  claim: string | null;
  last_status: number | null;
  last_latency_ms: number | null;
  last_error: string | null;
  delivered_at: number | null;
  created_at: number;
}

export interface WebhookAttemptsTable {
  id: Generated<number>;
  delivery_id: number;
  endpoint_id: string;
  message_id: string;
  attempt: number;
  at: number;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}
