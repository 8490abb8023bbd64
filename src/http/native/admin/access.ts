/**
 * Who may call which admin route. Every `/api/admin/…` route names the permission it needs in its
 * route config (`config: { permission: 'tokens:write' }`); the admin API's authentication hook
 * (src/http/native/admin/index.ts) lets the admin token and the operator console through, and an
 * operator key only when its permission set holds that permission (`<area>:write` includes
 * `<area>:read`). A route that names `'admin'` takes the admin token (or console) only: managing
 * operator keys, so that a key can never mint another. docs/admin-api.md lists the areas.
 *
 * A creating POST sets `config: { idempotent: true }` to honour `Idempotency-Key`.
 */
import type { FastifyContextConfig, FastifySchema } from 'fastify';
import type { Permission } from '../../../core/operator-keys.ts';

// The permission model is core's (operator keys carry it); re-exported for the routes.
export { allows, isPermission, PERMISSION_AREAS, PERMISSIONS, type Permission, type PermissionArea } from '../../../core/operator-keys.ts';

/**
 * What a route needs: a permission; `'admin'`, the admin token itself (or the console); or
 * `'any'`, any operator credential (who am I, sign out).
 */
export type RouteAccess = Permission | 'admin' | 'any';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission an admin route needs (src/http/native/admin/access.ts). */
    permission?: RouteAccess;
    /** A creating POST that honours `Idempotency-Key`. */
    idempotent?: boolean;
  }
}

/** What an admin route declares besides its path and handler (adminRoute). */
export interface AdminRouteOptions<S extends FastifySchema> {
  config: FastifyContextConfig;
  schema: S & { tags: string[] };
}

/**
 * The options of an admin route: the access it needs (`config.permission`), whether it honours
 * `Idempotency-Key`, and its OpenAPI entry, listed under `admin`.
 */
export function adminRoute<S extends FastifySchema>(access: RouteAccess, schema: S, options: { idempotent?: true } = {}): AdminRouteOptions<S> {
  return { config: { permission: access, ...options }, schema: { tags: ['admin'], ...schema } };
}
