/**
 * Records as the cabinet and admin APIs show them: one mapper per record, shared by both, each
 * returning the `Static` type of its response schema (src/http/native/console-schemas.ts), so a
 * view that drifts from its schema does not compile. Never a secret: hints only.
 */
import type { Static } from '@sinclair/typebox';
import { apiTokenStatus } from '../../core/api-tokens.ts';
import type { Account, ApiToken, App, AuditEvent, ServiceAccount, ServiceKey } from '../../core/model.ts';
import type { SessionListItem } from '../../core/ports.ts';
import type { AccountView, ApiTokenView, AppView, AuditView, ServiceAccountView, ServiceKeyView, SessionView } from './console-schemas.ts';

export function accountView(a: Account): Static<typeof AccountView> {
  return { id: a.id, uid: a.uid, email: a.email, name: a.name, status: a.status, isDemo: a.isDemo, createdAt: a.createdAt };
}

export function appView(a: App): Static<typeof AppView> {
  return { appId: a.appId, name: a.name, createdAt: a.createdAt };
}

export function sessionView(s: SessionListItem): Static<typeof SessionView> {
  return {
    id: s.id,
    kind: s.kind,
    clientId: s.clientId,
    scope: s.scope === '' ? [] : s.scope.split(' '),
    generation: s.generation,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt,
    lastRefreshAt: s.lastRefreshAt,
  };
}

export function auditView(e: AuditEvent): Static<typeof AuditView> {
  return { id: e.id, at: e.at, type: e.type, sessionId: e.sessionId, address: e.address, detail: e.detail };
}

export function apiTokenView(t: ApiToken, now: number): Static<typeof ApiTokenView> {
  return {
    id: t.id,
    format: t.format,
    hint: t.hint,
    label: t.label,
    status: apiTokenStatus(t, now),
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    lastUsedAt: t.lastUsedAt,
    revokedAt: t.revokedAt,
    replacedBy: t.replacedBy,
  };
}

export function serviceKeyView(k: ServiceKey, now: number): Static<typeof ServiceKeyView> {
  const status = k.revokedAt !== null ? 'revoked' : k.expiresAt !== null && k.expiresAt <= now ? 'expired' : 'active';
  return {
    id: k.id,
    accessKey: k.accessKey,
    secretHint: k.secretHint,
    status,
    createdAt: k.createdAt,
    expiresAt: k.expiresAt,
    revokedAt: k.revokedAt,
    lastUsedAt: k.lastUsedAt,
  };
}

export function serviceAccountView(sa: ServiceAccount, keys: readonly ServiceKey[], now: number): Static<typeof ServiceAccountView> {
  return {
    id: sa.id,
    name: sa.name,
    actions: sa.actions,
    status: sa.status,
    createdAt: sa.createdAt,
    lastUsedAt: sa.lastUsedAt,
    keys: keys.map((k) => serviceKeyView(k, now)),
  };
}
