/**
 * What the operator's commands can do, whichever way they reach tokend: over HTTP through the
 * admin API (src/cli/http-operator.ts, with `--url`) or on the database through core
 * (src/cli/local-operator.ts). Both answer with the admin API's views (src/http/native/console-schemas.ts),
 * so a command prints the same thing either way; times are Unix milliseconds.
 */
import type { Static } from '@sinclair/typebox';
import type {
  AccountView,
  ApiTokenView,
  AppView,
  ServiceAccountView,
  ServiceKeyView,
  SessionView,
  SigningKeyView,
} from '../http/native/console-schemas.ts';
import type { ApiTokenFormat } from '../core/model.ts';

export type Account = Static<typeof AccountView>;
export type App = Static<typeof AppView>;
/** The admin API's views add the owning account's id to the cabinet's. */
export type ServiceAccount = Static<typeof ServiceAccountView> & { accountId?: number };
export type ServiceKey = Static<typeof ServiceKeyView>;
export type ApiToken = Static<typeof ApiTokenView> & { accountId?: number };
export type Session = Static<typeof SessionView>;
export type SigningKey = Static<typeof SigningKeyView>;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface NewKey {
  keyId: number;
  accessKey: string;
  secretKey: string;
  expiresAt: number | null;
}

export interface NewApiToken {
  id: string;
  token: string;
  format: ApiTokenFormat;
  expiresAt: number | null;
}

export interface RotatedApiToken extends NewApiToken {
  /** The token that was replaced, and until when it keeps working (null: it stopped at once or never expires). */
  previousId: string;
  previousExpiresAt: number | null;
}

export interface OperatorKey {
  id: string;
  name: string;
  permissions: string[];
  hint: string | null;
  createdAt: number | null;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  status: 'active' | 'expired' | 'revoked';
}

export interface NewOperatorKey {
  id: string;
  key: string;
  name: string;
  permissions: string[];
  expiresAt: number | null;
}

export interface DayCount {
  /** Start of the UTC day, Unix milliseconds. */
  day: number;
  count: number;
}

export interface SigningKeyRotation {
  key: SigningKey;
  previous: SigningKey | null;
  deleted: string[];
}

/** A change that may already have been made: `changed` is false when it was (null when the server does not say). */
export interface Change {
  changed: boolean | null;
}

/** What rules attach to (docs/policies.md), as the admin API names it in its paths. */
export type PolicyKind = 'api-token' | 'service-key' | 'app' | 'account';
export const POLICY_KINDS: readonly PolicyKind[] = ['api-token', 'service-key', 'app', 'account'];

/** A subject's rules, as `GET /api/admin/{kind}s/{id}/policy` answers them. */
export interface Policy {
  subject: { kind: string; id: string };
  accountId: number;
  rules: {
    rateLimits: { limit: number; windowSeconds: number; exact?: boolean }[];
    credits: { remaining: number; cost: number; refill: { amount: number; interval: string } | null } | null;
    ipAllowList: string[] | null;
    scopes: string[] | null;
    expiry: { maxLifetimeSeconds: number | null; required: boolean } | null;
  };
  creditsLeft: number | null;
  updatedAt: number | null;
}

export interface AccountFilter {
  email?: string;
  status?: 'active' | 'disabled';
  search?: string;
  limit: number;
  cursor?: string;
}

/**
 * Durations are passed as the command line took them (`90d`), already checked against the
 * grammar (src/cli/duration.ts): the admin API takes them so, and core gets them as milliseconds.
 */
export interface Operator {
  /** `local` (the database, through core) or `http` (the admin API). */
  readonly mode: 'local' | 'http';

  createAccount(input: { email: string; password: string; name?: string }): Promise<Account>;
  listAccounts(filter: AccountFilter): Promise<Page<Account>>;
  getAccount(id: number): Promise<Account>;
  updateAccount(id: number, input: { name?: string | null; email?: string }): Promise<Account>;
  setAccountStatus(id: number, status: 'active' | 'disabled'): Promise<Account & Change>;
  deleteAccount(id: number): Promise<void>;
  setPassword(id: number, password: string): Promise<void>;
  resetLink(id: number, expiresIn?: string): Promise<{ url: string; expiresAt: number }>;

  createApp(accountId: number, name: string): Promise<App>;
  listApps(accountId: number): Promise<App[]>;
  renameApp(appId: string, name: string): Promise<App>;
  deleteApp(appId: string): Promise<void>;

  createServiceAccount(accountId: number, input: { name: string; actions: string[] }): Promise<ServiceAccount>;
  listServiceAccounts(accountId: number): Promise<ServiceAccount[]>;
  getServiceAccount(id: number): Promise<ServiceAccount>;
  updateServiceAccount(id: number, input: { name?: string; actions?: string[] }): Promise<ServiceAccount>;
  setServiceAccountStatus(id: number, status: 'active' | 'disabled'): Promise<Change>;

  createKey(serviceAccountId: number, expiresIn?: string): Promise<NewKey>;
  /** Revokes a key; over HTTP the service account is part of the key's address, locally it is checked when given. */
  revokeKey(keyId: number, serviceAccountId?: number): Promise<Change>;

  createApiToken(accountId: number, input: { format: ApiTokenFormat; label?: string; expiresIn?: string }): Promise<NewApiToken>;
  listApiTokens(accountId: number, status?: string): Promise<ApiToken[]>;
  getApiToken(id: string): Promise<ApiToken>;
  rotateApiToken(id: string, grace?: string): Promise<RotatedApiToken>;
  revokeApiToken(id: string): Promise<Change>;

  listSessions(accountId: number, page: { limit: number; cursor?: string }): Promise<Page<Session> & { total: number | null }>;
  revokeSession(id: string): Promise<Change>;
  revokeAllSessions(accountId: number): Promise<number>;

  usage(input: { accountId?: number; days: number }): Promise<DayCount[]>;

  createOperatorKey(input: { name: string; permissions: string[]; expiresIn?: string }): Promise<NewOperatorKey>;
  listOperatorKeys(): Promise<OperatorKey[]>;
  revokeOperatorKey(id: string): Promise<Change>;

  getPolicy(kind: PolicyKind, id: string): Promise<Policy>;
  /** Replaces every rule of the subject (the admin API's PUT); the input is checked by core. */
  setPolicy(kind: PolicyKind, id: string, rules: Record<string, unknown>): Promise<Policy>;
  removePolicy(kind: PolicyKind, id: string): Promise<Change>;

  rotateSigningKey(): Promise<SigningKeyRotation>;
  listSigningKeys(): Promise<SigningKey[]>;
}
