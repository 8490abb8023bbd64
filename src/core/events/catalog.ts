/**
 * The events webhooks carry (docs/webhooks.md): their names, and how each is made from the audit
 * entry of the change that causes it. Every audited change of one of these kinds becomes an
 * outgoing message in the same transaction (src/core/audit.ts), so a change and its event land
 * together or not at all.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AuditType } from '../model.ts';
import { WEBHOOK_EVENT_TYPES } from './types.ts';

export const EVENT_TYPES = WEBHOOK_EVENT_TYPES;

export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/** A message ready for the outbox: its id is the `webhook-id` of every delivery of it. */
export interface OutgoingEvent {
  id: string;
  type: EventType;
  accountId: number | null;
  /** The exact JSON body sent (and signed). */
  payload: string;
  createdAt: number;
}

/** What an audit entry says, as the catalogue reads it. */
export interface AuditedChange {
  type: AuditType;
  at: number;
  accountId: number | null;
  sessionId: string | null;
  detail: Record<string, unknown>;
}

interface Mapping {
  type: EventType;
  data(change: AuditedChange): Record<string, unknown>;
  /**
   * Events that must go out once however often their cause is audited (the daily quota is
   * audited at every refused attempt): the message id is derived from this key, and the outbox
   * keeps the first message with an id.
   */
  onceKey?(change: AuditedChange): string;
}

const DAY_MS = 86_400_000;

const MAPPINGS: Partial<Record<AuditType, Mapping>> = {
  'api_token.created': {
    type: 'api_token.created',
    data: (c) => pick(c.detail, ['id', 'format', 'label']),
  },
  'api_token.rotated': {
    type: 'api_token.rotated',
    data: (c) => ({ id: c.detail.id, replacedBy: c.detail.replacedBy, graceSeconds: Math.round(Number(c.detail.graceMs ?? 0) / 1000) }),
  },
  'api_token.revoked': {
    type: 'api_token.revoked',
    data: (c) => ({ id: c.detail.id, reason: c.detail.reason ?? 'revoked' }),
  },
  'service_key.created': {
    type: 'key.created',
    data: (c) => pick(c.detail, ['serviceAccountId', 'keyId', 'accessKey', 'expiresAt']),
  },
  'service_key.revoked': {
    type: 'key.revoked',
    data: (c) => pick(c.detail, ['serviceAccountId', 'keyId', 'accessKey', 'sessionsRevoked']),
  },
  'session.reuse_detected': {
    type: 'session.reuse_detected',
    data: (c) => ({ sessionId: c.sessionId, kind: c.detail.kind, generation: c.detail.generation }),
  },
  'secret.leaked': {
    type: 'secret.leaked',
    data: (c) => pick(c.detail, ['kind', 'id', 'tokenType', 'url', 'source', 'revoked']),
  },
  'quota.exceeded': {
    type: 'quota.daily_reached',
    data: (c) => ({
      ...pick(c.detail, ['appId', 'serviceAccountId', 'accessKey']),
      day: new Date(Math.floor(c.at / DAY_MS) * DAY_MS).toISOString().slice(0, 10),
    }),
    onceKey: (c) => `quota:${c.accountId}:${String(c.detail.appId ?? c.detail.accessKey)}:${Math.floor(c.at / DAY_MS)}`,
  },
};

function pick(detail: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (detail[k] !== undefined) out[k] = detail[k];
  return out;
}

/** A new message id: `msg_` and 128 random bits (base64url), or derived from a key for once-only events. */
export function messageId(onceKey?: string): string {
  if (onceKey !== undefined) return `msg_${createHash('sha256').update(onceKey).digest('base64url').slice(0, 22)}`;
  return `msg_${randomBytes(16).toString('base64url')}`;
}

/** The Standard Webhooks body: `{type, timestamp, data}`; `data` carries the account when there is one. */
export function eventBody(type: EventType, at: number, accountId: number | null, data: Record<string, unknown>): string {
  return JSON.stringify({ type, timestamp: new Date(at).toISOString(), data: { ...(accountId !== null ? { accountId } : {}), ...data } });
}

/** The outgoing message an audited change causes, or null when it causes none. */
export function eventOf(change: AuditedChange): OutgoingEvent | null {
  const mapping = MAPPINGS[change.type];
  if (!mapping) return null;
  return {
    id: messageId(mapping.onceKey?.(change)),
    type: mapping.type,
    accountId: change.accountId,
    payload: eventBody(mapping.type, change.at, change.accountId, mapping.data(change)),
    createdAt: change.at,
  };
}

/** `api_token.expiring` for a token and its expiry: the same token and expiry always make the same message id, so it goes out once. */
export function expiringEvent(t: { id: string; accountId: number; format: string; label: string | null; expiresAt: number }, now: number): OutgoingEvent {
  return {
    id: messageId(`expiring:${t.id}:${t.expiresAt}`),
    type: 'api_token.expiring',
    accountId: t.accountId,
    payload: eventBody('api_token.expiring', now, t.accountId, { id: t.id, format: t.format, label: t.label, expiresAt: t.expiresAt }),
    createdAt: now,
  };
}

/** `credits.low` for a subject's balance: once per subject and refill period (the id is derived from both). */
export function creditsLowEvent(
  c: { key: string; subject: { kind: string; id: string }; accountId: number; remaining: number; mark: number; period: number },
  now: number,
): OutgoingEvent {
  return {
    id: messageId(`credits-low:${c.key}:${c.period}`),
    type: 'credits.low',
    accountId: c.accountId,
    payload: eventBody('credits.low', now, c.accountId, { subject: { kind: c.subject.kind, id: c.subject.id }, remaining: c.remaining, lowMark: c.mark }),
    createdAt: now,
  };
}
