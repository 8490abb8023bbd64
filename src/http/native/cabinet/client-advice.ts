/**
 * `GET /api/cabinet/client-advice`: for each of the account's apps, how its clients use their
 * tokens over the last days (src/core/client-patterns.ts), the patterns the ChatApp scheme warns
 * against that were seen, and today's tokens.make against the daily limit with a warning from 80 %.
 */
import type { Static } from '@sinclair/typebox';
import { ClientPatterns, ADVICE_DAYS } from '../../../core/client-patterns.ts';
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { authOf } from '../console-auth.ts';
import { readResponses } from '../console-responses.ts';
import { ClientAdviceView } from '../console-schemas.ts';

/** Share of the daily tokens.make limit from which the console warns. */
export const QUOTA_WARNING_SHARE = 0.8;

export async function registerCabinetClientAdvice(app: HttpApp, core: Core): Promise<void> {
  app.get(
    '/api/cabinet/client-advice',
    { schema: { tags: ['cabinet'], summary: "How the account's apps use their tokens, and advice where a client misuses them", response: readResponses(ClientAdviceView) } },
    async (request): Promise<Static<typeof ClientAdviceView>> => {
      const account = authOf(request)!.auth.account!;
      const apps = await core.accounts.listApps(account.id);
      return {
        periodDays: ADVICE_DAYS,
        apps: await Promise.all(
          apps.map(async (a) => {
            const [figures, quota] = await Promise.all([core.clientPatterns.figures(a.appId), core.accounts.makesToday(account, a.appId)]);
            return {
              appId: a.appId,
              name: a.name,
              figures,
              findings: ClientPatterns.findings(figures),
              quota: { used: quota.used, limit: quota.limit, nearLimit: quota.used >= QUOTA_WARNING_SHARE * quota.limit },
            };
          }),
        ),
      };
    },
  );
}
