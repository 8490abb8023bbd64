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
/** What a route needs: a permission, or the admin token itself. */
export type RouteAccess = Permission | 'admin';

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

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission an admin route needs (src/http/native/admin/access.ts). */
    permission?: RouteAccess;
    /** A creating POST that honours `Idempotency-Key`. */
    idempotent?: boolean;
  }
}
