/**
 * The demo sandbox (SPEC 3.4): published, well-known credentials so that the seeds' examples
 * work as written against localhost. Seeded once; flagged as test data; announced loudly.
 */
import type { Core } from '../core/tokend.ts';

export const DEMO = {
  accountId: 29078, // the l3 demo token `29078-API:…` names this account
  accountUid: '01771533-8e75-3234-8e3d-9213ae2d7c52', // the userId of seed 002's sample answer
  email: 'demo@tokend.dev',
  password: 'demo-password',
  appId: 'app_demo',
  appName: 'Demo app',
} as const;

export interface DemoInfo {
  created: boolean;
  lines: string[];
}

export async function seedDemo(core: Core): Promise<DemoInfo> {
  const ctx = { address: 'demo-seed' };
  let account = await core.accounts.findByEmail(DEMO.email);
  const created = account === null;
  if (!account) {
    account = await core.accounts.create(
      { email: DEMO.email, password: DEMO.password, name: 'Demo account (test data)', isDemo: true, id: DEMO.accountId, uid: DEMO.accountUid },
      ctx,
    );
  }
  const apps = await core.accounts.listApps(account.id);
  if (!apps.some((a) => a.appId === DEMO.appId)) {
    await core.accounts.createApp({ accountId: account.id, name: DEMO.appName, appId: DEMO.appId }, ctx);
  }
  return {
    created,
    lines: [
      `  account   id ${account.id}, uid ${account.uid}`,
      `  email     ${DEMO.email}`,
      `  password  ${DEMO.password}`,
      `  appId     ${DEMO.appId}`,
    ],
  };
}
