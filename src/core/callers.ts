/**
 * Who may call the operator-facing native endpoints: the operator with the admin token,
 * and resource servers with a credential the operator created for them (`tdx_…`), both as
 * `Authorization: Bearer …`. Introspection and revocation accept either; the admin API and the
 * operator console accept only the admin token.
 *
 * The admin token is TOKEND_ADMIN_TOKEN when set. Otherwise one (`tdm_…`) is generated on the
 * first start, stored as a SHA-256 hash (instance_secrets), and printed once by `serve`; nodes
 * sharing a database share it, and only the node whose insert won prints it.
 */
import { randomUUID } from 'node:crypto';
import { constantTimeEqual, sha256Hex } from '../secrets/hash.ts';
import { isNativeToken, MAX_TOKEN_LENGTH, newToken } from '../secrets/tokens.ts';
import { audit, type AuditContext } from './audit.ts';
import type { ChangeBus } from './changes.ts';
import type { Clock } from './clock.ts';
import { InvalidInputError } from './errors.ts';
import type { ResourceServer } from './model.ts';
import type { Store } from './ports.ts';
import { cacheTag, VerifyCache } from './verify-cache.ts';

const ADMIN_TOKEN_SECRET = 'admin_token';

export type Caller = { kind: 'admin' } | { kind: 'resource_server'; id: string; name: string };

export interface AdminTokenStatus {
  /** Where the admin token comes from. */
  source: 'env' | 'stored' | 'generated';
  /** The token, only when this call generated it: print it once, then it is gone. */
  generated: string | null;
}

export interface CallerServiceDeps {
  store: Store;
  clock: Clock;
  changes: ChangeBus;
  /** TOKEND_ADMIN_TOKEN; empty when not set. */
  adminToken: string;
  cache: { ttlMs: number; maxEntries: number };
}

export class CallerService {
  readonly #d: CallerServiceDeps;
  readonly #cache: VerifyCache<ResourceServer>;
  /** SHA-256 of the admin token once known: it never changes while tokend runs. */
  #adminHash: string | null;

  constructor(deps: CallerServiceDeps) {
    this.#d = deps;
    this.#adminHash = deps.adminToken ? sha256Hex(deps.adminToken) : null;
    this.#cache = new VerifyCache({ ...deps.cache, clock: deps.clock });
    this.#cache.follow(deps.changes);
  }

  /** Makes sure an admin token exists; `serve` calls it at start and prints `generated` if set. */
  async ensureAdminToken(ctx: AuditContext): Promise<AdminTokenStatus> {
    if (this.#d.adminToken) return { source: 'env', generated: null };
    const { store, clock } = this.#d;
    const candidate = newToken('admin');
    const inserted = await store.transaction(async (tx) => {
      const ok = await tx.instanceSecrets.insertIfAbsent(ADMIN_TOKEN_SECRET, candidate.hash, clock.now());
      if (ok) await audit(tx.audit, clock, ctx, { type: 'admin_token.generated', detail: { hint: candidate.hint } });
      return ok;
    });
    this.#adminHash = null;
    return inserted ? { source: 'generated', generated: candidate.token } : { source: 'stored', generated: null };
  }

  /** True when `token` is the admin token. Constant-time; false when no admin token exists yet. */
  async verifyAdminToken(token: string): Promise<boolean> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return false;
    if (this.#adminHash === null) this.#adminHash = await this.#d.store.instanceSecrets.getHash(ADMIN_TOKEN_SECRET);
    if (this.#adminHash === null) return false;
    return constantTimeEqual(sha256Hex(token), this.#adminHash);
  }

  /** The caller a bearer credential identifies: the operator, a live resource server, or nobody. */
  async authenticate(token: string): Promise<Caller | null> {
    if (isNativeToken(token, 'resourceServer')) {
      const server = await this.#findServer(sha256Hex(token));
      return server && server.revokedAt === null ? { kind: 'resource_server', id: server.id, name: server.name } : null;
    }
    return (await this.verifyAdminToken(token)) ? { kind: 'admin' } : null;
  }

  #findServer(hash: string): Promise<ResourceServer | null> {
    return this.#cache.getOrLoad(hash, this.#loadServer, serverTags);
  }

  readonly #loadServer = (hash: string): Promise<ResourceServer | null> => this.#d.store.resourceServers.findByHash(hash);

  /** Creates a resource-server credential; the returned token is shown once. */
  async createResourceServer(name: string, ctx: AuditContext): Promise<{ server: ResourceServer; token: string }> {
    const clean = name.trim();
    if (clean.length === 0 || clean.length > 200) throw new InvalidInputError('name', 'must be 1 to 200 characters long');
    const { store, clock } = this.#d;
    const secret = newToken('resourceServer');
    const server: ResourceServer = { id: randomUUID(), name: clean, hint: secret.hint, createdAt: clock.now(), revokedAt: null };
    await store.transaction(async (tx) => {
      await tx.resourceServers.insert({ ...server, hash: secret.hash });
      await audit(tx.audit, clock, ctx, { type: 'resource_server.created', detail: { id: server.id, name: clean } });
    });
    return { server, token: secret.token };
  }

  async listResourceServers(): Promise<ResourceServer[]> {
    return this.#d.store.resourceServers.list();
  }

  async revokeResourceServer(id: string, ctx: AuditContext): Promise<boolean> {
    const { store, clock } = this.#d;
    const done = await store.transaction(async (tx) => {
      const ok = await tx.resourceServers.revoke(id, clock.now());
      if (ok) await audit(tx.audit, clock, ctx, { type: 'resource_server.revoked', detail: { id } });
      return ok;
    });
    if (done) this.#d.changes.publish({ kind: 'resource_server', ids: [id] });
    return done;
  }
}

function serverTags(server: ResourceServer): readonly string[] {
  return [cacheTag('resource_server', server.id)];
}
