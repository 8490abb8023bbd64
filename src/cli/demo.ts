/**
 * The demo sandbox: published, well-known credentials so that the examples of the ChatApp,
 * hoster.by and Invoicebox documentation work as written against localhost. Seeded once; flagged
 * as test data; announced loudly.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreUnavailableError } from '../core/errors.ts';
import type { Core } from '../core/tokend.ts';
import { nativeTokenFromBody } from '../secrets/tokens.ts';

export const DEMO = {
  accountId: 29078, // the l3 demo token `29078-API:…` names this account
  accountUid: '01771533-8e75-3234-8e3d-9213ae2d7c52', // the userId of the Invoicebox documentation's sample answer
  email: 'demo@tokend.dev',
  password: 'demo-password',
  appId: 'app_demo',
  appName: 'Demo app',
  /** The Invoicebox documentation's published demo tokens: the v3 one, and the l3 one under account 29078. */
  v3Token: 'b37c4c689295904ed21eee5d9a48d42e',
  l3Token: '29078-API:b37c4c689295904ed21eee5d9a48d42e',
  /** The demo service account and its published key pair; the README's curl flow uses them. */
  serviceAccountName: 'Demo service account (test data)',
  serviceActions: ['dns_orders_list', 'dns_records_list', 'dns_records_edit', 'cloud_orders_list'],
  accessKey: 'AKDEMOSANDBOXTOKENDKEY',
  // A fixed body, with the real CRC32 checksum: `tds_DemoSecretKeyTokendSandbox100tE9x`.
  secretKey: nativeTokenFromBody('secretKey', 'DemoSecretKeyTokendSandbox1'),
} as const;

export interface DemoInfo {
  created: boolean;
  lines: string[];
}

/**
 * Seeds the sandbox, tolerating other nodes that seed the same database at the same moment
 * (several `tokend serve --demo` on one PostgreSQL): each step is "find, else create", and a
 * create that loses a race to another node fails on a unique constraint; the next attempt then
 * finds what the other node made.
 */
export async function seedDemo(core: Core): Promise<DemoInfo> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await seedOnce(core);
    } catch (error) {
      if (attempt >= 3 || error instanceof StoreUnavailableError) throw error;
      await sleep(100 + Math.random() * 400);
    }
  }
}

async function seedOnce(core: Core): Promise<DemoInfo> {
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
  // Idempotent by hash: a demo token that was revoked or rotated since stays so (seeded once).
  await core.apiTokens.seedKnown({ accountId: account.id, token: DEMO.v3Token, label: 'Demo v3 token (Invoicebox docs)' }, ctx);
  if (account.id === DEMO.accountId) {
    await core.apiTokens.seedKnown({ accountId: account.id, token: DEMO.l3Token, label: 'Demo l3 token (Invoicebox docs)' }, ctx);
  }
  // Idempotent by Access Key: a demo key that was revoked since stays so (seeded once).
  if (!(await core.serviceAccounts.findKeyByAccessKey(DEMO.accessKey))) {
    const sa = await core.serviceAccounts.create({ accountId: account.id, name: DEMO.serviceAccountName, actions: DEMO.serviceActions }, ctx);
    await core.serviceAccounts.createKey({ serviceAccountId: sa.id, preset: { accessKey: DEMO.accessKey, secretKey: DEMO.secretKey } }, ctx);
  }
  return {
    created,
    lines: [
      `  account   id ${account.id}, uid ${account.uid}`,
      `  email     ${DEMO.email}`,
      `  password  ${DEMO.password}`,
      `  appId     ${DEMO.appId}`,
      `  v3 token  ${DEMO.v3Token}`,
      `  l3 token  ${DEMO.l3Token}`,
      `  service account Access Key  ${DEMO.accessKey}`,
      `  service account Secret Key  ${DEMO.secretKey}`,
      `  service account actions     ${DEMO.serviceActions.join(' ')}`,
    ],
  };
}
