/** What webhooks need from storage and from the outside world (docs/webhooks.md). */
import type { EventType, OutgoingEvent } from './catalog.ts';

export interface WebhookEndpoint {
  id: string;
  /** Null: the operator's endpoint, which receives every account's events. */
  accountId: number | null;
  url: string;
  /** Empty: every event type. */
  eventTypes: EventType[];
  description: string | null;
  /** `whsec_` and the secret's last 4 characters. */
  secretHint: string;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface StoredEndpoint extends WebhookEndpoint {
  /** The signing secret sealed under the master key (SecretBox), never in plain. */
  secretSealed: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  id: number;
  messageId: string;
  endpointId: string;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  deliveredAt: number | null;
  createdAt: number;
}

export interface WebhookAttempt {
  id: number;
  deliveryId: number;
  endpointId: string;
  messageId: string;
  attempt: number;
  at: number;
  /** The receiver's HTTP status; null when no answer came (refused, timeout, blocked address). */
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

/** A delivery a dispatcher has claimed: the attempt number is its own, no other dispatcher makes it. */
export interface ClaimedDelivery {
  id: number;
  claim: string;
  attempt: number;
  messageId: string;
  endpointId: string;
  url: string;
  secretSealed: string;
  payload: string;
  createdAt: number;
}

export type DeliveryNext = { status: 'delivered'; at: number } | { status: 'pending'; nextAttemptAt: number } | { status: 'failed' };

export interface EndpointPatch {
  url?: string;
  eventTypes?: EventType[];
  description?: string | null;
  enabled?: boolean;
  secretSealed?: string;
  secretHint?: string;
  updatedAt: number;
}

export type EndpointOwner = { accountId: number } | 'all';

export interface WebhookRepo {
  insertEndpoint(endpoint: StoredEndpoint): Promise<void>;
  findEndpoint(id: string): Promise<StoredEndpoint | null>;
  /** Oldest first. */
  listEndpoints(owner: EndpointOwner): Promise<StoredEndpoint[]>;
  updateEndpoint(id: string, patch: EndpointPatch): Promise<boolean>;
  /** Deletes the endpoint with its deliveries and attempts. */
  deleteEndpoint(id: string): Promise<boolean>;
  /**
   * Claims up to `limit` due deliveries in one statement: pending, due at `now`, and not under
   * another dispatcher's lease. Each gets `claim`, a lease until `leaseUntil` and its attempt
   * count raised by one. On PostgreSQL rows another node is claiming are skipped (SKIP LOCKED),
   * so two dispatchers never claim one attempt.
   */
  claimDue(now: number, leaseUntil: number, limit: number, claim: string): Promise<ClaimedDelivery[]>;
  /**
   * Records an attempt, and moves the delivery on if and only if it still holds `claim` (a
   * redelivery asked for meanwhile, or a lease another dispatcher took over, wins). True when it did.
   */
  finish(delivery: { id: number; claim: string }, attempt: Omit<WebhookAttempt, 'id'>, next: DeliveryNext): Promise<boolean>;
  findDelivery(id: number): Promise<WebhookDelivery | null>;
  /** Newest first; `beforeId` pages. */
  listDeliveries(endpointId: string, page: { limit: number; beforeId?: number }): Promise<WebhookDelivery[]>;
  /** Newest first; `beforeId` pages. */
  listAttempts(endpointId: string, page: { limit: number; beforeId?: number }): Promise<WebhookAttempt[]>;
  /** Makes a delivery pending and due at `now`, whatever its state; false when there is none. */
  redeliver(id: number, now: number): Promise<boolean>;
  /**
   * Deletes deliveries that ended (delivered or failed) before `before`, with their attempts, and
   * the messages no delivery refers to any more; returns how many deliveries went.
   */
  purgeFinished(before: number): Promise<number>;
  /** Puts a message in the outbox for every endpoint that wants it (an event no change audits). */
  enqueue(event: OutgoingEvent): Promise<void>;
  /** Live API tokens (neither revoked nor replaced) whose expiry falls in [from, until), soonest first. */
  apiTokensExpiring(from: number, until: number, limit: number): Promise<ExpiringApiToken[]>;
}

export interface ExpiringApiToken {
  id: string;
  accountId: number;
  format: string;
  label: string | null;
  expiresAt: number;
}

/** Seals endpoint secrets at rest (src/signing/webhook-secrets.ts: AES-256-GCM under the master key). */
export interface SecretBox {
  /** Sealed and bound to `boundTo` (the endpoint id): a sealed value copied onto another row does not open. */
  seal(plaintext: string, boundTo: string): string;
  /** Null when it does not open (another master key, another row, altered). */
  open(sealed: string, boundTo: string): string | null;
}

export interface DeliveryRequest {
  url: string;
  /** `whsec_…` */
  secret: string;
  messageId: string;
  /** Unix ms; sent in seconds as `webhook-timestamp`. */
  timestamp: number;
  body: string;
  timeoutMs: number;
}

/** The receiver's answer, or why there was none. */
export type DeliveryResult = { ok: true; status: number; latencyMs: number } | { ok: false; error: string; latencyMs: number; status?: number };

/**
 * Sends one signed delivery (src/http/outbound/webhooks.ts): Standard Webhooks headers, no
 * redirects followed, every address the host resolves to checked against the blocked ranges.
 */
export interface WebhookTransport {
  send(request: DeliveryRequest): Promise<DeliveryResult>;
}

/** What a reported secret can be, by its shape (src/secrets/scanning.ts). */
export type LeakLookup = 'api_token' | 'access' | 'refresh' | 'secret_key' | 'resource_server' | 'console_session' | 'admin_token' | 'operator_key' | 'password_reset';

/** The record a reported secret belongs to. */
export interface LeakedRecord {
  kind: 'api_token' | 'session' | 'service_key' | 'resource_server' | 'console_session' | 'admin_token' | 'operator_key' | 'password_reset';
  /** The API token's id, the session's, the key's (numeric, as text), …; the admin token: 'admin'. */
  id: string;
  accountId: number | null;
}

/** Finds which record a reported secret is, by its SHA-256: reads only. */
export interface LeakRepo {
  find(hash: string, lookup: LeakLookup): Promise<LeakedRecord | null>;
}
