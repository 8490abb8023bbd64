/**
 * The areas an operator key's permissions cover, in the order the console's picker lists them
 * (docs/admin-api.md). The server's list lives with its routes, which the browser bundle cannot
 * import; test/console.i18n.test.ts holds this copy to it, and each area to a label in both
 * languages.
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
