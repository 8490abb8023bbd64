/**
 * Operator keys: named credentials with a permission set, for machines that call the admin API
 * (a sign-up flow, billing, support tools) without the admin token (docs/admin-api.md). A key is
 * a `tdp_…` native token shown once at creation; storage keeps its SHA-256. Only the admin token
 * (or the operator console) creates, lists and revokes keys, so a key can never mint another.
 *
 * Checking a key is on every admin call it makes: the lookup goes through the verification cache
 * (dropped at once on revocation, on every node once the store bridges the change), and `last
 * used` is noted in memory and written in batches, never a write per request.
 */
import { randomUUID } from 'node:crypto';
import { sha256Hex } from '../secrets/hash.ts';
import { isNativeToken, newToken } from '../secrets/tokens.ts';
import { LastUsedNotes } from './api-tokens.ts';
import { audit, type AuditContext } from './audit.ts';
import type { ChangeBus } from './changes.ts';
import type { Clock } from './clock.ts';
import { InvalidInputError } from './errors.ts';
import type { OperatorKey } from './model.ts';
import type { Store } from './ports.ts';
import { cacheTag, VerifyCache } from './verify-cache.ts';

/** What an operator key may touch; docs/admin-api.md says what each area covers. */
export const PERMISSION_AREAS = [
  'accounts',
  'apps',
  'service-accounts',
  'tokens',
  'sessions',
  'policies',
  'audit',
  'usage',
  'webhooks',
  'signing-keys',
  'settings',
] as const;

export type PermissionArea = (typeof PERMISSION_AREAS)[number];
export type Permission = `${PermissionArea}:${'read' | 'write'}`;

export const PERMISSIONS: readonly Permission[] = PERMISSION_AREAS.flatMap((a) => [`${a}:read`, `${a}:write`] as Permission[]);

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/** True when `granted` covers `needed` (`x:write` covers `x:read`). */
export function allows(granted: readonly Permission[], needed: Permission): boolean {
  if (granted.includes(needed)) return true;
  const [area, level] = needed.split(':') as [PermissionArea, 'read' | 'write'];
  return level === 'read' && granted.includes(`${area}:write`);
}

const NAME_MAX = 200;

export interface OperatorKeyServiceDeps {
  store: Store;
  clock: Clock;
  changes: ChangeBus;
  cache: { ttlMs: number; maxEntries: number };
}

/** A key that passed: who is calling, for permission checks and per-credential state (idempotency). */
export type OperatorKeyCheck = { ok: true; key: OperatorKey } | { ok: false };

export class OperatorKeyService {
  readonly #d: OperatorKeyServiceDeps;
  readonly #cache: VerifyCache<OperatorKey>;
  readonly #lastUsed: LastUsedNotes;

  constructor(deps: OperatorKeyServiceDeps) {
    this.#d = deps;
    this.#cache = new VerifyCache({ ...deps.cache, clock: deps.clock });
    this.#cache.follow(deps.changes);
    this.#lastUsed = new LastUsedNotes(deps.store, deps.clock, (tx, slice) => tx.operatorKeys.touchLastUsed(slice));
  }

  /**
   * Creates a key; the returned `key` is shown once. Permissions are deduplicated and sorted;
   * an unknown one, an empty set, or an expiry in the past is InvalidInputError.
   */
  async create(
    input: { name: string; permissions: readonly string[]; expiresAt: number | null },
    ctx: AuditContext,
  ): Promise<{ operatorKey: OperatorKey; key: string }> {
    const name = input.name.trim();
    if (name.length === 0 || name.length > NAME_MAX) throw new InvalidInputError('name', `must be 1 to ${NAME_MAX} characters long`);
    const unknown = input.permissions.find((p) => !isPermission(p));
    if (unknown !== undefined) throw new InvalidInputError('permissions', `has an unknown permission: ${unknown.slice(0, 40)}`);
    if (input.permissions.length === 0) throw new InvalidInputError('permissions', 'must name at least one permission');
    const permissions = [...new Set(input.permissions as Permission[])].sort();
    const { store, clock } = this.#d;
    const now = clock.now();
    if (input.expiresAt !== null && input.expiresAt <= now) throw new InvalidInputError('expiresIn', 'must be in the future');
    const secret = newToken('operatorKey');
    const operatorKey: OperatorKey = {
      id: randomUUID(),
      name,
      permissions,
      hint: secret.hint,
      createdAt: now,
      expiresAt: input.expiresAt,
      revokedAt: null,
      lastUsedAt: null,
    };
    await store.transaction(async (tx) => {
      await tx.operatorKeys.insert({ ...operatorKey, hash: secret.hash });
      await audit(tx.audit, clock, ctx, { type: 'operator_key.created', detail: { id: operatorKey.id, name, permissions } });
    });
    return { operatorKey, key: secret.token };
  }

  /** Every key, newest first, revoked and expired ones included (never a secret). */
  async list(): Promise<OperatorKey[]> {
    return this.#d.store.operatorKeys.list();
  }

  async get(id: string): Promise<OperatorKey | null> {
    return this.#d.store.operatorKeys.findById(id);
  }

  /** Revokes; null for no such key, else the key (revoked now or before). Every node drops it at once. */
  async revoke(id: string, ctx: AuditContext): Promise<OperatorKey | null> {
    const { store, clock } = this.#d;
    const outcome = await store.transaction(async (tx) => {
      const found = await tx.operatorKeys.findById(id);
      if (!found) return null;
      const now = clock.now();
      const revoked = await tx.operatorKeys.revoke(id, now);
      if (revoked) await audit(tx.audit, clock, ctx, { type: 'operator_key.revoked', detail: { id, name: found.name } });
      return { key: revoked ? { ...found, revokedAt: now } : found, revoked };
    });
    if (outcome?.revoked) this.#d.changes.publish({ kind: 'operator_key', ids: [id] });
    return outcome?.key ?? null;
  }

  /**
   * The live key behind a presented `tdp_…` token, or `{ok:false}` when it is malformed (checked
   * offline first: shape and checksum), unknown, revoked or expired. No write: `last used` is noted
   * in memory and flushed in batches.
   */
  async verify(token: string): Promise<OperatorKeyCheck> {
    if (!isNativeToken(token, 'operatorKey')) return { ok: false };
    const key = await this.#cache.getOrLoad(sha256Hex(token), this.#load, keyTags);
    const now = this.#d.clock.now();
    if (!key || key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt <= now)) return { ok: false };
    this.#lastUsed.note(key, now);
    return { ok: true, key };
  }

  readonly #load = (hash: string): Promise<OperatorKey | null> => this.#d.store.operatorKeys.findByHash(hash);

  /** Writes the noted `last used` times now (tests, shutdown). */
  flushLastUsed(): Promise<void> {
    return this.#lastUsed.flush();
  }

  async close(): Promise<void> {
    await this.#lastUsed.close();
  }
}

function keyTags(key: OperatorKey): readonly string[] {
  return [cacheTag('operator_key', key.id)];
}
