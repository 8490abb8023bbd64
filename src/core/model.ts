/** The domain's records, as core sees them: plain data, times in unix milliseconds. */
import type { Permission } from './operator-keys.ts';

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
  /** Absolute end of the session, already bounded by the key's expiry for service sessions. */
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
  | 'app.renamed'
  | 'app.deleted'
  | 'login.succeeded'
  | 'login.failed'
  | 'login.throttled'
  | 'quota.exceeded'
  | 'session.refreshed'
  | 'session.reuse_detected'
  | 'session.revoked'
  | 'api_token.created'
  | 'api_token.rotated'
  | 'api_token.revoked'
  | 'api_token.reinstated'
  | 'resource_server.created'
  | 'resource_server.revoked'
  | 'admin_token.generated'
  | 'service_account.created'
  | 'service_account.disabled'
  | 'service_account.enabled'
  | 'service_account.actions_changed'
  | 'service_account.renamed'
  | 'service_key.created'
  | 'service_key.revoked'
  | 'service_key.reinstated'
  | 'service_token.created'
  | 'signing_key.created'
  | 'signing_key.rotated'
  | 'console.signed_in'
  | 'console.sign_in_failed'
  | 'console.signed_out'
  | 'policy.updated'
  | 'policy.removed'
  | 'account.updated'
  | 'account.deleted'
  | 'account.password_set'
  | 'account.password_changed'
  | 'account.password_reset_issued'
  | 'account.password_reset'
  | 'operator_key.created'
  | 'operator_key.revoked'
  | 'audit.retention_cut'
  | 'secret.leaked'
  | 'webhook.created'
  | 'webhook.updated'
  | 'webhook.deleted'
  | 'webhook.secret_rotated';

/** Who a console sign-in belongs to: an account (the personal cabinet) or the operator (admin token). */
export type ConsoleSessionKind = 'account' | 'operator';

/** A console sign-in. `id` is the SHA-256 of the cookie's token, never the token. */
export interface ConsoleSession {
  id: string;
  kind: ConsoleSessionKind;
  accountId: number | null;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute end: no activity extends a sign-in past it. */
  expiresAt: number;
  revokedAt: number | null;
  address: string | null;
  userAgent: string | null;
}

/** The wire formats of an organisation API token: v3 hex, l3 `<account id>-API:<hex>`, native `tdo_…`. */
export type ApiTokenFormat = 'v3' | 'l3' | 'native';

/**
 * Where an API token stands at a given time (core/api-tokens.ts `apiTokenStatus` decides it):
 * `grace` is rotated but still valid until its `expiresAt`.
 */
export type ApiTokenStatus = 'active' | 'grace' | 'replaced' | 'revoked' | 'expired';

/** An API token as listed: never the token itself, only a hint (start and last 4). */
export interface ApiToken {
  id: string;
  accountId: number;
  format: ApiTokenFormat;
  hint: string;
  label: string | null;
  createdAt: number;
  /** Null: no expiry. During a rotation grace period, the end of the grace. */
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  /** Set once rotated: the id of the token that replaced this one. */
  replacedBy: string | null;
}

/** A credential for the admin API with a permission set (docs/admin-api.md). Never the key itself. */
export interface OperatorKey {
  id: string;
  name: string;
  /** Sorted, no duplicates (src/core/operator-keys.ts). */
  permissions: Permission[];
  hint: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  /** To the minute (noted in memory, written in batches). */
  lastUsedAt: number | null;
}

/** A credential the operator gives a resource server so it may call introspection and revocation. */
export interface ResourceServer {
  id: string;
  name: string;
  hint: string;
  createdAt: number;
  revokedAt: number | null;
}

export type ServiceAccountStatus = 'active' | 'disabled';

/** A machine identity of an account: what its keys may do is its list of actions. */
export interface ServiceAccount {
  id: number;
  accountId: number;
  name: string;
  /** Allowed actions (`dns_orders_list`, …): the `scope` of every token its keys create. */
  actions: string[];
  status: ServiceAccountStatus;
  createdAt: number;
  lastUsedAt: number | null;
}

/** An Access Key / Secret Key pair as listed: never the secret, only its hint (start and last 4). */
export interface ServiceKey {
  id: number;
  serviceAccountId: number;
  /** Public identifier, sent as the `Access-Key` header. */
  accessKey: string;
  secretHint: string;
  createdAt: number;
  /** Null: no expiry. Every session started with the key ends no later than this. */
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export type JwtAlgorithm = 'EdDSA' | 'ES256';

/** A JWT signing key as stored: the private JWK only sealed (AES-256-GCM under the master key). */
export interface SigningKeyRecord {
  kid: string;
  alg: JwtAlgorithm;
  /** Public JWK (JSON), published in /.well-known/jwks.json while the key may verify a live token. */
  publicJwk: string;
  /** Sealed private JWK: `v1.<iv>.<tag>.<ciphertext>`, base64url, the kid as associated data. */
  privateJwkSealed: string;
  createdAt: number;
  /** From this instant the key signs (and its predecessor stops signing). Published before it. */
  activatesAt: number;
  /** Longest access-token lifetime any node signs with this key: it stays published that long after it stops signing. */
  maxTokenTtlMs: number;
}
