/**
 * The operator's side of the web console in a real browser (Debian's Chromium through
 * playwright-core), against a real tokend listening on a port: the dashboard, an account's page
 * and what the operator does there, operator keys and the audit log. What the page shows once (an
 * API token, a Secret Key, an operator key, a reset link) is read from the page and tried on the
 * wire it is for, on SQLite and on PostgreSQL. Screenshots go to test-artifacts/console/ (not
 * committed).
 */
import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureConsoleBuilt, launchChromium, SHOTS, skipBrowser as skip } from './helpers/browser.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';
import { seedServiceKey } from './helpers/hoster.ts';

const ADMIN_TOKEN = 'tdm-operator-browser-test-admin-token-0123';

for (const db of databases()) describe(`operator console in Chromium (${db})`, { skip }, () => {
  let t: TestTokend;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let anna: Awaited<ReturnType<typeof seedAccount>>;
  let boris: Awaited<ReturnType<typeof seedAccount>>;

  before(async () => {
    await ensureConsoleBuilt();
    mkdirSync(SHOTS, { recursive: true });
    t = await startTokend({ db, listen: true, config: { adminToken: ADMIN_TOKEN } });
    anna = await seedAccount(t.core, { email: 'anna.operator@example.com' });
    boris = await seedAccount(t.core, { email: 'boris.operator@example.com' });
    await t.core.accounts.setStatus(boris.accountId, 'disabled', { address: 'test' });
    browser = await launchChromium();
    context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 860 } });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await t?.close();
  });

  async function shot(name: string, options: { fullPage?: boolean } = {}): Promise<void> {
    // The pages look the same on either database: one set of pictures.
    if (db !== 'sqlite') return;
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: options.fullPage ?? true, animations: 'disabled' });
  }

  async function go(label: string): Promise<void> {
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: label, exact: true }).click();
  }

  async function readSecret(testId: string): Promise<string> {
    const value = (await page.getByTestId(testId).textContent())?.trim() ?? '';
    assert.ok(value.length > 0, `${testId} is empty`);
    return value;
  }

  async function closeSecret(): Promise<void> {
    await page.getByTestId('secret-done').click();
    await page.getByTestId('secret-dialog').waitFor({ state: 'detached' });
  }

  async function confirm(): Promise<void> {
    await page.getByTestId('confirm-button').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
  }

  async function tab(name: string): Promise<void> {
    await page.getByTestId(`account-tab-${name}`).click();
    await page.getByTestId(`account-panel-${name}`).waitFor();
  }

  async function invoiceboxAuth(token: string): Promise<number> {
    const res = await fetch(`${t.url}/v3/security/api/auth/auth`, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    return res.status;
  }

  async function adminCall(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: { error?: { code?: string } } }> {
    const res = await fetch(`${t.url}/api/admin${path}`, {
      method,
      headers: { accept: 'application/json', authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as { error?: { code?: string } }) : {} };
  }

  /** Secrets live only in the page's memory: never in the URL or in storage. */
  async function assertNotStored(secret: string): Promise<void> {
    assert.ok(!page.url().includes(secret), 'a secret is in the URL');
    const stored = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }));
    assert.ok(!stored.includes(secret), 'a secret is in web storage or a script-readable cookie');
  }

  it('signs in with the admin token and lands on the dashboard: accounts, checks per day, latest audit entries', async () => {
    // A check today, so that the chart has a bar.
    const made = await t.core.apiTokens.create({ accountId: anna.accountId, format: 'v3', label: 'seeded', expiresAt: null }, { address: 'test' });
    assert.equal(await invoiceboxAuth(made.token), 200);
    await page.goto(`${t.url}/console/sign-in/operator`);
    await page.getByTestId('signin-operator').getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByTestId('signin-operator-submit').click();
    await page.waitForURL(/\/console\/admin$/);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    assert.equal((await page.getByTestId('stat-accounts-active').locator('.stat-value').textContent())?.trim(), '1');
    assert.equal((await page.getByTestId('stat-accounts-disabled').locator('.stat-value').textContent())?.trim(), '1');
    await page.getByTestId('checks-chart').waitFor();
    await page.getByTestId('dashboard-audit').getByTestId('activity-row').first().waitFor();
    await page.getByTestId('dashboard-audit').locator('[data-type="account.disabled"]').waitFor();
    await shot('20-operator-dashboard');
  });

  it('opens an account from the Accounts list: its facts and tabs', async () => {
    await go('Accounts');
    await page.locator(`[data-testid="account-row"][data-email="${anna.email}"]`).getByTestId('open-account').click();
    await page.waitForURL(new RegExp(`/console/admin/accounts/${anna.accountId}$`));
    await page.getByTestId('account-email').getByText(anna.email).waitFor();
    await page.getByTestId('account-facts').getByText(anna.uid).waitFor();
    // The apps tab first: the seeded app is there.
    await page.locator(`[data-testid="app-row"][data-app-id="${anna.appId}"]`).waitFor();
    await shot('21-operator-account');
  });

  it('apps: creates, renames and deletes an app', async () => {
    await page.getByTestId('new-app').first().click();
    await page.getByRole('dialog').getByLabel('App name').fill('Support desk');
    await page.getByTestId('save-app').click();
    const row = page.getByTestId('app-row').filter({ hasText: 'Support desk' });
    await row.waitFor();
    const appId = await row.getAttribute('data-app-id');
    assert.ok(appId);
    await row.getByTestId('rename-app').click();
    await page.getByRole('dialog').getByLabel('App name').fill('Support desk 2');
    await page.getByTestId('save-app').click();
    await page.getByTestId('app-row').filter({ hasText: 'Support desk 2' }).waitFor();
    assert.equal((await t.core.accounts.listApps(anna.accountId)).find((a) => a.appId === appId)?.name, 'Support desk 2');
    await page.locator(`[data-testid="app-row"][data-app-id="${appId}"]`).getByTestId('delete-app').click();
    await confirm();
    await page.locator(`[data-testid="app-row"][data-app-id="${appId}"]`).waitFor({ state: 'detached' });
    assert.equal((await t.core.accounts.listApps(anna.accountId)).some((a) => a.appId === appId), false);
  });

  let token = '';

  it('API tokens: creates one (shown once, it passes its check), rotates it with a grace period, revokes both', async () => {
    await tab('api-tokens');
    await page.getByTestId('new-api-token').first().click();
    await page.getByTestId('format-v3').check();
    await page.getByRole('dialog').getByLabel(/Label/).fill('Made by the operator');
    await page.getByTestId('create-token').click();
    token = await readSecret('secret-token');
    assert.match(token, /^[0-9a-f]{32}$/);
    await assertNotStored(token);
    assert.equal(await invoiceboxAuth(token), 200);
    await shot('22-operator-token-created');
    await closeSecret();
    assert.ok(!(await page.content()).includes(token), 'shown once: gone from the page');
    const row = page.locator('[data-testid="api-token-row"][data-label="Made by the operator"][data-status="active"]');
    await row.waitFor();

    await row.getByTestId('rotate-token').click();
    await page.getByTestId('grace-select').selectOption('3600');
    await page.getByTestId('rotate-confirm').click();
    const rotated = await readSecret('secret-token');
    assert.notEqual(rotated, token);
    await closeSecret();
    assert.equal(await invoiceboxAuth(rotated), 200);
    assert.equal(await invoiceboxAuth(token), 200, 'the old token works during its grace period');

    await page.locator('[data-testid="api-token-row"][data-label="Made by the operator"][data-status="grace"]').getByTestId('revoke-token').click();
    await confirm();
    assert.equal(await invoiceboxAuth(token), 401);
    await page.locator('[data-testid="api-token-row"][data-label="Made by the operator"][data-status="active"]').getByTestId('revoke-token').click();
    await confirm();
    assert.equal(await invoiceboxAuth(rotated), 401);
    await page.locator('[data-testid="api-token-row"][data-label="Made by the operator"]').first().waitFor({ state: 'detached' });

    // The seeded token's checks per day, as the cabinet shows them; its rules are the account's own, not set here.
    const seeded = page.locator('[data-testid="api-token-row"][data-label="seeded"]');
    assert.equal(await seeded.getByTestId('token-rules').count(), 0);
    await seeded.getByTestId('token-usage').click();
    await page.getByTestId('token-usage-chart').waitFor();
    assert.match((await page.getByTestId('token-usage-summary').textContent()) ?? '', /\d+ passed, \d+ refused/);
    await page.keyboard.press('Escape');
    await page.getByTestId('token-usage-dialog').waitFor({ state: 'detached' });
  });

  it('service accounts: creates one and a key (the Secret Key shown once obtains a JWT), revokes the key', async () => {
    await tab('service-accounts');
    await page.getByTestId('new-service-account').first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('Billing robot');
    await dialog.getByLabel('Allowed actions').fill('invoices_list');
    await page.getByTestId('create-service-account').click();
    const card = page.getByTestId('service-account').filter({ hasText: 'Billing robot' });
    await card.getByText('invoices_list').waitFor();
    await card.getByTestId('new-key').click();
    await page.getByTestId('create-key').click();
    const accessKey = await readSecret('secret-access-key');
    const secretKey = await readSecret('secret-secret-key');
    assert.match(secretKey, /^tds_/);
    await assertNotStored(secretKey);
    await closeSecret();
    const made = await fetch(`${t.url}/service/account/create/token`, { method: 'POST', headers: { 'access-key': accessKey, 'secret-key': secretKey } });
    assert.equal(made.status, 200);
    await made.arrayBuffer();
    await card.getByTestId('revoke-key').click();
    await confirm();
    await card.getByText('Revoked').waitFor();
    const refused = await fetch(`${t.url}/service/account/create/token`, { method: 'POST', headers: { 'access-key': accessKey, 'secret-key': secretKey } });
    assert.notEqual(refused.status, 200);
    await refused.arrayBuffer();
  });

  it('sessions: lists the account\'s sessions, revokes one, then all', async () => {
    const key = await seedServiceKey(t.core, { accountId: anna.accountId });
    const pairs = [];
    for (let i = 0; i < 3; i++) {
      const made = await t.core.serviceAccounts.createTokens({ accessKey: key.accessKey, secretKey: key.secretKey }, { address: 'test' });
      assert.ok(made.ok);
      pairs.push(made.pair);
    }
    await tab('sessions');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="session-row"]').length === 3);
    await page.locator(`[data-testid="session-row"][data-session-id="${pairs[0]!.session.id}"]`).getByTestId('revoke-session').click();
    await confirm();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="session-row"]').length === 2);
    assert.equal((await t.core.serviceAccounts.verifyAccessJwt(pairs[0]!.accessToken)).ok, false);
    await page.getByTestId('revoke-all-sessions').click();
    await confirm();
    await page.getByRole('heading', { name: 'No active sessions' }).waitFor();
    assert.equal((await t.core.serviceAccounts.verifyAccessJwt(pairs[2]!.accessToken)).ok, false);
  });

  it("activity: the account's audit entries, and only its own", async () => {
    await tab('activity');
    await page.locator('[data-testid="activity-row"][data-type="api_token.revoked"]').first().waitFor();
    const types = await page.getByTestId('activity-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-type')));
    assert.ok(types.includes('app.deleted'));
    assert.ok(!types.includes('account.disabled'), "boris's entries are not on anna's page");
    await shot('23-operator-account-activity');
  });

  it('sets a password (the old one stops working) and makes a one-time reset link, shown once', async () => {
    await page.getByTestId('account-set-password').click();
    await page.getByRole('dialog').getByLabel('New password').fill('a new password for anna');
    await page.getByTestId('password-save').click();
    await page.getByTestId('account-notice').waitFor();
    const signIn = async (password: string): Promise<number> => {
      const res = await fetch(`${t.url}/api/cabinet/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: t.url },
        body: JSON.stringify({ email: anna.email, password }),
      });
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await signIn('a new password for anna'), 200);
    assert.equal(await signIn(anna.password), 401);

    await page.getByTestId('account-reset-link').click();
    const url = await readSecret('reset-link-url');
    assert.match(url, /#token=/);
    await assertNotStored(url.split('#token=')[1]!);
    await closeSecret();
  });

  it("edits the account: a name, and another account's email refused", async () => {
    await page.getByTestId('account-edit').click();
    const dialog = page.getByTestId('edit-account-dialog');
    await dialog.getByLabel('Name').fill('Anna Petrova');
    await dialog.getByLabel('Email').fill(boris.email);
    await page.getByTestId('edit-account-save').click();
    await dialog.getByText('Another account has this email.').waitFor();
    assert.equal((await t.core.accounts.get(anna.accountId))?.name, null, 'nothing changed');
    await dialog.getByLabel('Email').fill(anna.email);
    await page.getByTestId('edit-account-save').click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: 'Anna Petrova', level: 1 }).waitFor();
    assert.equal((await t.core.accounts.get(anna.accountId))?.name, 'Anna Petrova');
  });

  it('disables and enables the account', async () => {
    await page.getByTestId('account-disable').click();
    await confirm();
    await page.getByTestId('account-facts').getByText('Disabled').waitFor();
    assert.equal((await t.core.accounts.get(anna.accountId))?.status, 'disabled');
    await page.getByTestId('account-enable').click();
    await page.getByTestId('account-facts').getByText('Active').waitFor();
    assert.equal((await t.core.accounts.get(anna.accountId))?.status, 'active');
  });

  it('deletes an account only once its email is typed', async () => {
    await page.goto(`${t.url}/console/admin/accounts/${boris.accountId}`);
    await page.getByTestId('account-email').getByText(boris.email).waitFor();
    await page.getByTestId('account-delete').click();
    const confirmButton = page.getByTestId('delete-confirm');
    assert.equal(await confirmButton.isDisabled(), true);
    await page.getByTestId('delete-type').fill('someone@example.com');
    assert.equal(await confirmButton.isDisabled(), true);
    await page.getByTestId('delete-type').fill(boris.email);
    await shot('24-operator-delete-account', { fullPage: false });
    await confirmButton.click();
    await page.waitForURL(/\/console\/admin\/accounts$/);
    await page.locator(`[data-testid="account-row"][data-email="${anna.email}"]`).waitFor();
    assert.equal(await page.locator(`[data-testid="account-row"][data-email="${boris.email}"]`).count(), 0);
    assert.equal(await t.core.accounts.get(boris.accountId), null);
  });

  let operatorKey = '';

  it('operator keys: creates one with a narrow permission set, shown once; it may read accounts and nothing more', async () => {
    await go('Operator keys');
    await page.getByRole('heading', { name: 'No operator keys yet' }).waitFor();
    await page.getByTestId('new-operator-key').first().click();
    const dialog = page.getByTestId('create-operator-key-dialog');
    await dialog.getByLabel('Name').fill('Support tool');
    // No permission chosen: refused next to the picker.
    await page.getByTestId('create-operator-key').click();
    await dialog.locator('.field-error').first().waitFor();
    await page.getByTestId('perm-accounts-read').check();
    await page.getByTestId('perm-audit-read').check();
    await shot('25-operator-key-new', { fullPage: false });
    await page.getByTestId('create-operator-key').click();
    operatorKey = await readSecret('secret-operator-key');
    assert.match(operatorKey, /^tdp_/);
    await assertNotStored(operatorKey);
    await closeSecret();
    const row = page.locator('[data-testid="operator-key-row"][data-name="Support tool"][data-status="active"]');
    await row.getByText('accounts:read').waitFor();
    await row.getByText('audit:read').waitFor();
    assert.ok(!(await page.content()).includes(operatorKey));

    assert.equal((await adminCall(operatorKey, 'GET', '/accounts')).status, 200);
    const write = await adminCall(operatorKey, 'POST', '/accounts', { email: 'nobody@example.com', password: 'long enough password' });
    assert.equal(write.status, 403);
    assert.equal(write.body.error?.code, 'permission_denied');
    assert.equal((await adminCall(operatorKey, 'GET', `/accounts/${anna.accountId}/api-tokens`)).status, 403);
    assert.equal((await adminCall(operatorKey, 'GET', '/operator-keys')).status, 403);
    await shot('26-operator-keys');
  });

  it('operator keys: revokes it; the key is refused at once', async () => {
    await page.locator('[data-testid="operator-key-row"][data-name="Support tool"]').getByTestId('revoke-operator-key').click();
    await confirm();
    await page.locator('[data-testid="operator-key-row"][data-name="Support tool"]').waitFor({ state: 'detached' });
    assert.equal((await adminCall(operatorKey, 'GET', '/accounts')).status, 401);
  });

  it('audit: filters by type, account and time, loads more by cursor, and exports what it shows as NDJSON', async () => {
    // More entries of anna's than one page holds.
    const key = await seedServiceKey(t.core, { accountId: anna.accountId });
    for (let i = 0; i < 55; i++) assert.ok((await t.core.serviceAccounts.createTokens({ accessKey: key.accessKey, secretKey: key.secretKey }, { address: 'test' })).ok);
    await go('Audit log');
    await page.getByTestId('audit-table').getByTestId('activity-row').first().waitFor();
    await page.getByTestId('audit-type').selectOption('operator_key.revoked');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid="audit-table"] [data-testid="activity-row"]')];
      return rows.length === 1 && rows[0]!.getAttribute('data-type') === 'operator_key.revoked';
    });
    await page.getByTestId('audit-type').selectOption('');
    await page.getByTestId('audit-account').fill(String(anna.accountId));
    await page.waitForFunction(() => !document.querySelector('[data-testid="audit-table"] [data-type="operator_key.revoked"]'));
    const accounts = await page.locator('[data-testid="audit-table"] [data-testid="activity-row"] td:nth-child(3)').allTextContents();
    assert.ok(accounts.length > 0 && accounts.every((a) => a.trim() === String(anna.accountId)), `rows of other accounts: ${accounts.join(',')}`);
    // More entries than a page: "Load more" appends the next one.
    const all = await adminCall(ADMIN_TOKEN, 'GET', `/audit?account=${anna.accountId}&limit=500`);
    const entries = (all.body as { items?: unknown[] }).items?.length ?? 0;
    assert.ok(entries > 55);
    assert.equal(await page.getByTestId('audit-table').getByTestId('activity-row').count(), 50);
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="audit-table"] [data-testid="activity-row"]').length === n, Math.min(entries, 100));
    const ids = await page.getByTestId('audit-table').getByTestId('activity-row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-id'))));
    assert.equal(new Set(ids).size, ids.length, 'the next page repeats none of the first');
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first across pages');
    // A time range in the future holds nothing.
    await page.getByTestId('audit-since').fill('2099-01-01T00:00');
    await page.getByRole('heading', { name: 'No entries match these filters.' }).waitFor();
    await page.getByTestId('audit-since').fill('');
    await page.getByTestId('audit-table').getByTestId('activity-row').first().waitFor();
    await shot('27-operator-audit');

    const href = await page.getByTestId('audit-export').getAttribute('href');
    assert.equal(href, `/api/admin/audit/export?account=${anna.accountId}`);
    const exported = await page.evaluate(async (url) => {
      const res = await fetch(url);
      return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
    }, href!);
    assert.equal(exported.status, 200);
    assert.match(String(exported.type), /application\/x-ndjson/);
    const lines = exported.text.trim().split('\n').map((l) => JSON.parse(l) as { accountId: number | null; at: number });
    assert.ok(lines.length > 0 && lines.every((l) => l.accountId === anna.accountId));
    assert.ok(lines.every((l, i) => i === 0 || l.at >= lines[i - 1]!.at), 'oldest first');
  });

  it('the operator pages in Russian', async () => {
    await page.getByTestId('lang-ru').click();
    try {
      await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Сводка' }).click();
      await page.getByRole('heading', { name: 'Сводка', level: 1 }).waitFor();
      await page.getByText('Активные аккаунты').waitFor();
      await page.getByRole('heading', { name: 'Последние записи журнала' }).waitFor();
      await shot('28-operator-dashboard-ru');
      await page.goto(`${t.url}/console/admin/accounts/${anna.accountId}/api-tokens`);
      await page.getByTestId('account-tab-api-tokens').getByText('API-токены').waitFor();
      await page.getByRole('button', { name: 'Задать пароль' }).waitFor();
      await page.getByRole('button', { name: 'Удалить' }).first().waitFor();
      await shot('29-operator-account-ru');
      await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Ключи операторов' }).click();
      await page.getByRole('heading', { name: 'Ключи операторов', level: 1 }).waitFor();
      await page.getByTestId('new-operator-key').first().click();
      await page.getByTestId('permission-picker').getByText('Аккаунты и пароли').waitFor();
      await page.getByTestId('permission-picker').getByText('Запись', { exact: true }).waitFor();
      await shot('30-operator-key-new-ru', { fullPage: false });
      await page.keyboard.press('Escape');
      await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Журнал аудита' }).click();
      await page.getByRole('heading', { name: 'Журнал аудита', level: 1 }).waitFor();
      await page.getByTestId('audit-export').getByText('Выгрузить (NDJSON)').waitFor();
      // Entry types read in Russian: no row shows its raw type.
      await page.getByTestId('audit-table').getByTestId('activity-row').first().waitFor();
      const labels = await page.locator('[data-testid="audit-table"] .event').allTextContents();
      assert.ok(labels.length > 0);
      assert.deepEqual(labels.filter((l) => /^[a-z_]+\.[a-z_]+$/.test(l)), [], 'entry types without a Russian label');
      await shot('31-operator-audit-ru');
    } finally {
      await page.getByTestId('lang-en').click();
    }
  });

  it('at 390 px wide, the operator pages fit: tables and tabs scroll inside, the page does not', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const [path, ready] of [
        ['admin', 'checks-chart'],
        [`admin/accounts/${anna.accountId}/api-tokens`, 'api-token-row'],
        ['admin/operator-keys', 'new-operator-key'],
        ['admin/audit', 'audit-table'],
      ] as const) {
        await page.goto(`${t.url}/console/${path}`);
        await page.getByTestId(ready).first().waitFor();
        // Revoked records too, when there are any: the widest rows.
        const inactive = page.locator('.card-actions .checkbox input');
        if ((await inactive.count()) > 0) await inactive.check();
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        const wide = await page.evaluate(() =>
          [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > 391 && !el.closest('.table-scroll, .card, .tabs-scroll, .chart'))
            .map((el) => `${el.tagName.toLowerCase()}.${el.className}`)
            .slice(0, 8),
        );
        assert.ok(width <= 390, `${path}: the page is ${width} px wide (${wide.join(', ')})`);
        await shot(`32-operator-390-${path.replace(/\W+/g, '-')}`);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
    }
  });
});
