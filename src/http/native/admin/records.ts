/**
 * The admin routes for the records an operator provisions for an account (docs/admin-api.md):
 * apps, service accounts and their keys, API tokens, sessions, and the audit log and usage figures
 * that follow them. Registered inside the admin API's authenticated scope; each route names the
 * permission it needs (src/http/native/admin/access.ts).
 */
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { registerAdminApiTokens } from './api-tokens.ts';
import { registerAdminApps } from './apps.ts';
import { registerAdminAudit } from './audit.ts';
import { registerAdminServiceAccounts } from './service-accounts.ts';
import { registerAdminSessions } from './sessions.ts';
import { registerAdminStats } from './stats.ts';
import { registerAdminUsage } from './usage.ts';

export async function registerAdminRecords(authed: HttpApp, core: Core): Promise<void> {
  await registerAdminApps(authed, core);
  await registerAdminServiceAccounts(authed, core);
  await registerAdminApiTokens(authed, core);
  await registerAdminSessions(authed, core);
  await registerAdminAudit(authed, core);
  await registerAdminUsage(authed, core);
  await registerAdminStats(authed, core);
}
