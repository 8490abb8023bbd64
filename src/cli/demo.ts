/**
 * The demo sandbox: published, well-known credentials so that the examples of the ChatApp,
 * hoster.by and Invoicebox documentation work as written against localhost. Seeded, and repaired at every start; flagged as test data; announced loudly.
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
  /** What this start put back as published (empty when nothing had changed). */
  repaired: string[];
  lines: string[];
}

/**
 * Seeds the sandbox and repairs what it owns at every start, tolerating other nodes that do the
 * same on the same database at the same moment (several `tokend serve --demo` on one PostgreSQL):
 * each step is "find, else create", and a create that loses a race to another node fails on a
 * unique constraint; the next attempt then finds what the other node made.
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

/**
 * The sandbox's records must work as the README and the start banner publish them, whatever was
 * done to them since (a reader following the docs may revoke the demo key or disable the demo
 * account): each is put back through the core services, so every repair is audited.
 */
async function seedOnce(core: Core): Promise<DemoInfo> {
  const ctx = { address: 'demo-seed' };
  const repaired: string[] = [];
  let account = await core.accounts.findByEmail(DEMO.email);
  const created = account === null;
  if (!account) {
    account = await core.accounts.create(
      { email: DEMO.email, password: DEMO.password, name: 'Demo account (test data)', isDemo: true, id: DEMO.accountId, uid: DEMO.accountUid },
      ctx,
    );
  }
  if (account.status !== 'active') {
    account = (await core.accounts.setStatus(account.id, 'active', ctx)) ?? account;
    repaired.push('the demo account was disabled: enabled again');
  }
  const apps = await core.accounts.listApps(account.id);
  if (!apps.some((a) => a.appId === DEMO.appId)) {
    await core.accounts.createApp({ accountId: account.id, name: DEMO.appName, appId: DEMO.appId }, ctx);
  }
  const tokens: { token: string; label: string; name: string }[] = [{ token: DEMO.v3Token, label: 'Demo v3 token (Invoicebox docs)', name: 'v3' }];
  if (account.id === DEMO.accountId) tokens.push({ token: DEMO.l3Token, label: 'Demo l3 token (Invoicebox docs)', name: 'l3' });
  for (const t of tokens) {
    const inserted = await core.apiTokens.seedKnown({ accountId: account.id, token: t.token, label: t.label }, ctx);
    if (!inserted && (await core.apiTokens.reinstateKnown({ accountId: account.id, token: t.token }, ctx))) {
      repaired.push(`the demo ${t.name} token was revoked, replaced or expired: live again`);
    }
  }
  const key = await core.serviceAccounts.findKeyByAccessKey(DEMO.accessKey);
  if (!key) {
    const sa = await core.serviceAccounts.create({ accountId: account.id, name: DEMO.serviceAccountName, actions: DEMO.serviceActions }, ctx);
    await core.serviceAccounts.createKey({ serviceAccountId: sa.id, preset: { accessKey: DEMO.accessKey, secretKey: DEMO.secretKey } }, ctx);
  } else {
    const sa = await core.serviceAccounts.get(key.serviceAccountId);
    if (sa && sa.status !== 'active') {
      await core.serviceAccounts.enable(sa.id, ctx);
      repaired.push('the demo service account was disabled: enabled again');
    }
    if (sa && [...sa.actions].sort().join(' ') !== [...DEMO.serviceActions].sort().join(' ')) {
      await core.serviceAccounts.setActions(sa.id, DEMO.serviceActions, ctx);
      repaired.push('the demo service account\'s actions had changed: set back');
    }
    if (await core.serviceAccounts.reinstateKey(key.id, ctx)) {
      repaired.push('the demo Access Key was revoked or expiring: live again');
    }
  }
  return {
    created,
    repaired,
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
