/** The operator's webhook endpoints (`/api/admin/webhooks`): every account's events (docs/webhooks.md). */
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { registerWebhookRoutes } from '../webhook-routes.ts';

export async function registerAdminWebhooks(app: HttpApp, core: Core): Promise<void> {
  await registerWebhookRoutes(app, core, {
    prefix: '/api/admin/webhooks',
    tag: 'admin',
    // The operator sees and manages every endpoint, its own and the accounts'; it creates its own.
    owner: () => 'all',
    creator: () => null,
    permissions: { read: 'webhooks:read', write: 'webhooks:write' },
  });
}
