/** An account's own webhook endpoints (`/api/cabinet/webhooks`): its own records' events (docs/webhooks.md). */
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { accountOf } from '../console-auth.ts';
import { registerWebhookRoutes } from '../webhook-routes.ts';

export async function registerCabinetWebhooks(app: HttpApp, core: Core): Promise<void> {
  await registerWebhookRoutes(app, core, {
    prefix: '/api/cabinet/webhooks',
    tag: 'cabinet',
    owner: (request) => ({ accountId: accountOf(request).id }),
    creator: (request) => accountOf(request).id,
  });
}
