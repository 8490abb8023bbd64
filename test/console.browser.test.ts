/**
 * The web console in a real browser: Debian's Chromium driven by playwright-core (which never
 * downloads a browser), against a real tokend listening on a port. Screenshots of the main pages
 * go to test-artifacts/console/ (not committed).
 *
 * What a newcomer does through the console is checked end to end against the wire dialects:
 * an API token read from the page passes `/v3/security/api/auth/auth`, is rotated with and without
 * a grace period, and fails once revoked; a service-account key read from the page obtains a JWT
 * from `/service/account/create/token`.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureConsoleBuilt, launchChromium, SHOTS, skipBrowser as skip } from './helpers/browser.ts';
import { seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';
import { seedServiceKey } from './helpers/hoster.ts';

const ADMIN_TOKEN = 'tdm-browser-test-admin-token-0123456789';

describe('web console in Chromium', { skip }, () => {
  let t: TestTokend;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let user: Awaited<ReturnType<typeof seedAccount>>;

  before(async () => {
    await ensureConsoleBuilt();
    mkdirSync(SHOTS, { recursive: true });
    t = await startTokend({ db: 'sqlite', listen: true, config: { adminToken: ADMIN_TOKEN } });
    user = await seedAccount(t.core, { email: 'anna@example.com' });
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
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: options.fullPage ?? true, animations: 'disabled' });
  }

  async function go(path: string): Promise<void> {
    await page.getByRole('navigation').getByRole('link', { name: path, exact: true }).click();
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

  async function invoiceboxAuth(token: string): Promise<{ status: number; body: { data?: { userId: string | null } } }> {
    const res = await fetch(`${t.url}/v3/security/api/auth/auth`, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as { data?: { userId: string | null } } };
  }

  /** Secrets live only in the page's memory: never in the URL or in storage. */
  async function assertNotStored(secret: string): Promise<void> {
    assert.ok(!page.url().includes(secret), 'a secret is in the URL');
    const stored = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }));
    assert.ok(!stored.includes(secret), 'a secret is in web storage or a script-readable cookie');
  }

  it('redirects / to the console and shows the sign-in page, served with a strict CSP', async () => {
    const res = await page.goto(`${t.url}/`);
    assert.ok(res);
    await page.waitForURL(/\/console\/sign-in$/);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const html = await fetch(`${t.url}/console/`);
    assert.match(String(html.headers.get('content-security-policy')), /script-src 'self'/);
    await shot('01-sign-in');
  });

  it('a wrong password shows an error next to the password field', async () => {
    const form = page.getByTestId('signin-account');
    await form.getByLabel('Email').fill(user.email);
    await form.getByLabel('Password').fill('not-the-password');
    await page.getByTestId('signin-submit').click();
    const error = form.locator('.field.has-error');
    await error.getByText('Wrong email or password.').waitFor();
    assert.equal(await error.locator('input').getAttribute('name'), 'password');
    await shot('02-sign-in-error');
  });

  it('switching the language changes the page', async () => {
    await page.getByTestId('lang-ru').click();
    await page.getByRole('heading', { name: 'Вход' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'ru');
    await page.getByLabel('Пароль').waitFor();
    await shot('03-sign-in-ru');
    await page.getByTestId('lang-en').click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  it('defaults to Russian for a Russian browser', async () => {
    const ru = await browser.newContext({ locale: 'ru-RU' });
    try {
      const p = await ru.newPage();
      await p.goto(`${t.url}/console/`);
      await p.getByRole('heading', { name: 'Вход' }).waitFor({ timeout: 15_000 });
    } finally {
      await ru.close();
    }
  });

  it('signs in and shows the overview', async () => {
    const form = page.getByTestId('signin-account');
    await form.getByLabel('Password').fill(user.password);
    await page.getByTestId('signin-submit').click();
    await page.waitForURL(/\/console\/$/);
    await page.getByTestId('account-card').getByText(user.uid).waitFor();
    await page.locator('.stat').first().waitFor();
    const cookies = await context.cookies(t.url + '/api/cabinet');
    const session = cookies.find((c) => c.name === 'tokend_cabinet');
    assert.ok(session && session.httpOnly && session.sameSite === 'Strict');
    await shot('04-overview');
  });

  it('switching the language on a signed-in page changes the navigation', async () => {
    await page.getByTestId('lang-ru').click();
    await page.getByRole('navigation').getByRole('link', { name: 'Обзор' }).waitFor();
    await page.getByRole('navigation').getByRole('link', { name: 'API-токены' }).waitFor();
    await page.getByTestId('lang-en').click();
    await page.getByRole('navigation').getByRole('link', { name: 'Overview' }).waitFor();
  });

  it('apps: shows the appId and creates another app', async () => {
    await go('Apps');
    await page.getByText(user.appId).waitFor();
    await page.getByTestId('new-app').first().click();
    await page.getByRole('dialog').getByLabel('App name').fill('Support bot');
    await page.getByTestId('create-app').click();
    await page.getByRole('cell', { name: 'Support bot' }).waitFor();
    await shot('05-apps');
  });

  it('apps: an empty name is refused next to the field, in the dialog that stays open; Escape closes it', async () => {
    await go('Apps');
    await page.getByTestId('new-app').first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('App name').fill('');
    await dialog.getByLabel('App name').press('Enter');
    // The server's validation error, shown under the field it names, not as a general notice.
    await dialog.locator('.field.has-error .field-error').waitFor();
    assert.equal(await dialog.locator('.notice-error').count(), 0);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  let firstToken = '';
  let secondToken = '';
  let thirdToken = '';

  it('API tokens: creates a v3 token, shows it once, and it passes /v3/security/api/auth/auth', async () => {
    await go('API tokens');
    await page.getByRole('heading', { name: 'No API tokens yet' }).waitFor();
    await shot('06-api-tokens-empty');
    await page.getByTestId('new-api-token').first().click();
    await page.getByTestId('format-v3').check();
    await page.getByRole('dialog').getByLabel(/Label/).fill('Shop integration');
    await page.getByTestId('create-token').click();
    firstToken = await readSecret('secret-token');
    assert.match(firstToken, /^[0-9a-f]{32}$/);
    await shot('07-api-token-created');
    await assertNotStored(firstToken);
    const check = await invoiceboxAuth(firstToken);
    assert.equal(check.status, 200);
    assert.equal(check.body.data?.userId, user.uid);
    await closeSecret();
    // Shown once: after closing the dialog the page holds only the hint.
    assert.ok(!(await page.content()).includes(firstToken));
    await page.locator('[data-testid="api-token-row"][data-label="Shop integration"]').waitFor();
    await shot('08-api-tokens');
  });

  it('API tokens: rotates with a grace period; both tokens work', async () => {
    await page.locator('[data-testid="api-token-row"][data-status="active"]').getByTestId('rotate-token').click();
    await page.getByTestId('grace-select').selectOption('86400');
    await page.getByTestId('rotate-confirm').click();
    secondToken = await readSecret('secret-token');
    assert.notEqual(secondToken, firstToken);
    await closeSecret();
    assert.equal((await invoiceboxAuth(secondToken)).status, 200);
    assert.equal((await invoiceboxAuth(firstToken)).status, 200, 'the old token works during the grace period');
    await page.locator('[data-testid="api-token-row"][data-status="grace"]').waitFor();
  });

  it('API tokens: a token revoked during its grace period shows as revoked, not replaced', async () => {
    await page.locator('[data-testid="api-token-row"][data-status="grace"]').getByTestId('revoke-token').click();
    await page.getByTestId('confirm-button').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
    assert.equal((await invoiceboxAuth(firstToken)).status, 401, 'the check refuses it at once');
    await page.locator('[data-testid="api-token-row"][data-status="grace"]').waitFor({ state: 'detached' });
    await page.getByText('Show revoked and replaced').click();
    const revoked = page.locator('[data-testid="api-token-row"][data-status="revoked"]');
    await revoked.waitFor();
    assert.equal(await page.locator('[data-testid="api-token-row"][data-status="replaced"]').count(), 0);
    const text = (await revoked.textContent()) ?? '';
    assert.match(text, /Revoked/);
    assert.doesNotMatch(text, /Replaced|expires in|in 24 hours|in 1 day/i);
    await shot('08b-api-token-revoked-in-grace');
    await page.getByText('Show revoked and replaced').click();
    await revoked.waitFor({ state: 'detached' });
  });

  it('API tokens: rotates without a grace period; the old token stops at once', async () => {
    await page.locator('[data-testid="api-token-row"][data-status="active"]').getByTestId('rotate-token').click();
    await page.getByTestId('grace-select').selectOption('0');
    await page.getByTestId('rotate-confirm').click();
    thirdToken = await readSecret('secret-token');
    await closeSecret();
    assert.equal((await invoiceboxAuth(thirdToken)).status, 200);
    assert.equal((await invoiceboxAuth(secondToken)).status, 401);
  });

  it('API tokens: revokes; the check fails with 401', async () => {
    await page.locator('[data-testid="api-token-row"][data-status="active"]').getByTestId('revoke-token').click();
    await page.getByTestId('confirm-button').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
    const check = await invoiceboxAuth(thirdToken);
    assert.equal(check.status, 401);
    assert.deepEqual(check.body, { error: { message: 'Unauthorized', code: 'unauthorized' } });
    await page.getByText('Show revoked and replaced').click();
    await page.locator('[data-testid="api-token-row"][data-status="revoked"]').first().waitFor();
  });

  it('forms: a refused field reads as a sentence next to it, not the validator\'s words', async () => {
    await go('Service accounts');
    await page.getByTestId('new-service-account').first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('Robot without actions');
    await page.getByTestId('create-service-account').click();
    const error = dialog.locator('.field.has-error');
    await error.getByText('Add at least one.').waitFor();
    assert.doesNotMatch((await dialog.textContent()) ?? '', /must NOT|fewer than|items/i);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('service accounts: creates one and a key; the key obtains a JWT from /service/account/create/token', async () => {
    await go('Service accounts');
    await page.getByRole('heading', { name: 'No service accounts yet' }).waitFor();
    await page.getByTestId('new-service-account').first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('DNS robot');
    await dialog.getByLabel('Allowed actions').fill('dns_orders_list, dns_records_edit');
    await page.getByTestId('create-service-account').click();
    await page.getByTestId('service-account').getByText('dns_records_edit').waitFor();
    await page.getByTestId('new-key').click();
    await page.getByTestId('create-key').click();
    const accessKey = await readSecret('secret-access-key');
    const secretKey = await readSecret('secret-secret-key');
    assert.match(secretKey, /^tds_/);
    await shot('09-service-key-created');
    await assertNotStored(secretKey);
    // Esc does not throw the secret away unasked: the dialog stays, with a warning.
    await page.keyboard.press('Escape');
    await page.getByTestId('secret-close-warning').waitFor();
    assert.equal(await page.getByTestId('secret-dialog').count(), 1);
    assert.equal(await readSecret('secret-secret-key'), secretKey, 'still shown');
    await shot('09b-secret-close-warning');
    await page.getByTestId('secret-keep-open').click();
    await page.getByTestId('secret-close-warning').waitFor({ state: 'detached' });
    await closeSecret();
    await page.locator(`[data-testid="service-key-row"][data-access-key="${accessKey}"]`).waitFor();
    assert.ok(!(await page.content()).includes(secretKey));

    const res = await fetch(`${t.url}/service/account/create/token`, {
      method: 'POST',
      headers: { 'access-key': accessKey, 'secret-key': secretKey, 'content-type': 'application/json' },
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const body = JSON.parse(text) as { payload: { accessToken: string; refreshToken: string; userId: number } };
    assert.match(body.payload.accessToken, /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/);
    assert.equal(body.payload.userId, user.accountId);
    const claims = JSON.parse(Buffer.from(body.payload.accessToken.split('.')[1]!, 'base64url').toString()) as { scope: string };
    assert.equal(claims.scope, 'dns_orders_list dns_records_edit');
    await shot('10-service-accounts');
  });

  it('sessions: lists the service-account session and revokes it', async () => {
    await go('Sessions');
    const row = page.getByTestId('session-row').filter({ hasText: 'Service account key' });
    await row.first().waitFor();
    await shot('11-sessions');
    const before = await page.getByTestId('session-row').count();
    await row.first().getByTestId('revoke-session').click();
    await page.getByTestId('confirm-button').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="session-row"]').length === n - 1, before);
  });

  it('sessions: more than a hundred are paged, with creation and last-refresh times; "revoke all" asks first', async () => {
    const key = await seedServiceKey(t.core, { accountId: user.accountId });
    const pairs = [];
    for (let i = 0; i < 120; i++) {
      const made = await t.core.serviceAccounts.createTokens({ accessKey: key.accessKey, secretKey: key.secretKey }, { address: 'test' });
      assert.ok(made.ok);
      pairs.push(made.pair);
    }
    assert.ok((await t.core.serviceAccounts.refresh(pairs[119]!.refreshToken, {}, { address: 'test' })).ok);
    const total = (await t.core.sessions.listActivePage(user.accountId, { limit: 1 })).total;
    assert.ok(total > 100);
    await go('Overview');
    await go('Sessions');
    const range = page.getByTestId('sessions-range');
    await range.getByText(`1–50 of ${total}`).waitFor();
    assert.equal(await page.getByTestId('session-row').count(), 50);
    assert.equal(await page.getByTestId('sessions-prev').isDisabled(), true);
    const newest = page.getByTestId('session-row').first();
    assert.equal(await newest.getAttribute('data-session-id'), pairs[119]!.session.id);
    assert.match((await newest.textContent()) ?? '', new RegExp(`Access Key\\s*${key.accessKey}`));
    assert.match((await newest.locator('td').nth(4).textContent()) ?? '', /now|second|minute/, 'the last refresh shows');
    await shot('11b-sessions-paged', { fullPage: false });
    await page.getByTestId('sessions-next').click();
    await range.getByText(`51–100 of ${total}`).waitFor();
    const ids = new Set(await page.getByTestId('session-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session-id'))));
    assert.equal(ids.size, 50);
    assert.ok(!ids.has(pairs[119]!.session.id), 'the second page does not repeat the first');
    await page.getByTestId('sessions-next').click();
    await range.getByText(`101–${total} of ${total}`).waitFor();
    assert.equal(await page.getByTestId('sessions-next').isDisabled(), true);
    await page.getByTestId('sessions-prev').click();
    await range.getByText(`51–100 of ${total}`).waitFor();

    await page.getByTestId('revoke-all-sessions').click();
    await page.getByTestId('confirm-dialog').getByText(`Revoke all ${total} sessions?`).waitFor();
    await shot('11c-sessions-revoke-all', { fullPage: false });
    await page.getByTestId('confirm-button').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: 'No active sessions' }).waitFor();
    assert.equal((await t.core.serviceAccounts.verifyAccessJwt(pairs[0]!.accessToken)).ok, false);
  });

  it('activity: lists events and filters them by type', async () => {
    await go('Activity');
    await page.getByTestId('activity-row').first().waitFor();
    await shot('12-activity');
    await page.getByTestId('activity-filter').selectOption('api_token.rotated');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid="activity-row"]')];
      return rows.length === 2 && rows.every((r) => r.getAttribute('data-type') === 'api_token.rotated');
    });
  });

  it("usage: today's tokens.make against the limit as a bar, checks per day as a chart", async () => {
    const make = await fetch(`${t.url}/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: user.password, appId: user.appId }),
    });
    assert.equal(make.status, 200);
    await go('Usage');
    await page.locator(`[data-testid="make-bar"][data-app-id="${user.appId}"][data-used="1"]`).waitFor();
    await page.getByTestId('checks-chart').waitFor();
    await page.getByText('1 of 100').waitFor();
    await shot('13-usage');
  });

  it('operator: signs in with the admin token, creates and disables an account', async () => {
    await page.goto(`${t.url}/console/sign-in/operator`);
    const form = page.getByTestId('signin-operator');
    await form.getByLabel('Admin token').fill('wrong-admin-token');
    await page.getByTestId('signin-operator-submit').click();
    await form.getByText('This is not the admin token.').waitFor();
    await form.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByTestId('signin-operator-submit').click();
    // The operator lands on the dashboard.
    await page.waitForURL(/\/console\/admin$/);
    await go('Accounts');
    await page.locator(`[data-testid="account-row"][data-email="${user.email}"]`).waitFor();
    // Both sign-ins active: each sign-out says which one it ends.
    assert.equal((await page.getByTestId('sign-out-account').textContent())?.trim(), 'Sign out of the account');
    assert.equal((await page.getByTestId('sign-out-operator').textContent())?.trim(), 'Sign out as operator');

    await page.getByTestId('new-account').first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Email').fill('boris@example.com');
    await dialog.getByLabel('Password').fill('short');
    await page.getByTestId('create-account').click();
    await dialog.locator('.field.has-error').getByText(/at least|characters/).waitFor();
    await dialog.getByLabel('Password').fill('a long enough password');
    await page.getByTestId('create-account').click();
    const row = page.locator('[data-testid="account-row"][data-email="boris@example.com"]');
    await row.waitFor();
    await shot('14-admin-accounts');
    await row.getByTestId('disable-account').click();
    await page.getByTestId('confirm-button').click();
    await row.getByText('Disabled').waitFor();
    const login = await fetch(`${t.url}/api/cabinet/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'boris@example.com', password: 'a long enough password' }),
    });
    assert.equal(login.status, 403);
  });

  it('operator: signing keys (rotate, see which are published) and read-only settings', async () => {
    await go('Signing keys');
    await page.locator('[data-testid="signing-key-row"][data-state="active"]').waitFor();
    await page.getByTestId('rotate-signing-key').click();
    await page.getByTestId('confirm-button').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="signing-key-row"]').length === 2);
    const published = await page.getByTestId('signing-key-row').filter({ hasText: 'Yes' }).count();
    assert.equal(published, 2, 'the new key is published before it signs, the old one stays published');
    await shot('15-admin-signing-keys');
    await go('Settings');
    const admin = page.locator('[data-testid="setting-row"][data-env="TOKEND_ADMIN_TOKEN"]');
    await admin.getByText('set', { exact: true }).waitFor();
    assert.ok(!(await page.content()).includes(ADMIN_TOKEN));
    await shot('16-admin-settings');
    // Backticks of the descriptions are code, not literal characters.
    const port = page.locator('[data-testid="setting-row"][data-env="TOKEND_DATA_DIR"] .setting-doc');
    assert.equal(await port.locator('code').first().textContent(), 'tokend.db');
    assert.doesNotMatch((await page.locator('.settings').textContent()) ?? '', /`/);
  });

  it('operator: the settings are described in Russian too', async () => {
    await page.getByTestId('lang-ru').click();
    const doc = page.locator('[data-testid="setting-row"][data-env="TOKEND_DATA_DIR"] .setting-doc');
    try {
      await doc.getByText(/Каталог встроенной базы SQLite/).waitFor();
      const docs = await page.locator('[data-testid="setting-row"] .setting-doc').allTextContents();
      const english = docs.filter((d) => !/[А-Яа-яЁё]/.test(d));
      assert.deepEqual(english, [], 'every description is in Russian');
      await shot('16b-admin-settings-ru', { fullPage: false });
    } finally {
      // The tests after this one read English labels.
      await page.getByTestId('lang-en').click();
    }
    await doc.getByText(/Directory for the embedded SQLite/).waitFor();
  });

  it('at 390 px wide, the tokens table scrolls inside its card instead of being cut off', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${t.url}/console/api-tokens`);
      await page.getByText('Show revoked and replaced').click();
      await page.getByTestId('api-token-row').first().waitFor();
      const table = page.locator('table.table').first();
      const box = await table.evaluate((el) => {
        const card = el.closest('.card, .table-scroll') as HTMLElement;
        const scroller = getComputedStyle(el.parentElement!).overflowX === 'auto' ? el.parentElement! : card;
        return { scroll: scroller.scrollWidth, client: scroller.clientWidth, overflow: getComputedStyle(scroller).overflowX, page: document.documentElement.scrollWidth };
      });
      assert.equal(box.overflow, 'auto');
      assert.ok(box.page <= 390, `the page itself is ${box.page} px wide`);
      assert.ok(box.scroll > box.client, 'the table is wider than the card: it scrolls');
      await page.screenshot({ path: join(SHOTS, '17-api-tokens-390.png'), fullPage: true, animations: 'disabled' });
      await page.goto(`${t.url}/console/sessions`);
      await page.getByRole('heading', { name: 'Sessions' }).waitFor();
      await page.screenshot({ path: join(SHOTS, '18-sessions-390.png'), fullPage: true, animations: 'disabled' });
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
    }
  });

  it('signs out of the account; the cabinet API refuses the old cookie', async () => {
    await go('Overview');
    await page.getByTestId('sign-out-account').click();
    await page.getByRole('navigation').getByRole('link', { name: 'Sign in to an account' }).waitFor();
    const me = await page.evaluate(async () => (await fetch('/api/cabinet/me')).status);
    assert.equal(me, 401);
  });
});
