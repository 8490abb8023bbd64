/**
 * The console's pictures of how tokens are used, in Chromium: an API token's checks per day by
 * outcome with its credits left, and the Usage page's advice about clients that misuse the ChatApp
 * scheme (here one that logs in before every request), in English and Russian, at 1280 and 390 px.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = '1';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST_INDEX = join(ROOT, 'console', 'dist', 'index.html');
const SHOTS = join(ROOT, 'test-artifacts', 'console');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const CTX = { address: 'test' };

const skip = !existsSync(CHROMIUM) && !process.env.CI ? `no Chromium at ${CHROMIUM} (CI installs it)` : false;

describe('usage pictures in the console (Chromium)', { skip }, () => {
  let t: TestTokend;
  let browser: Browser;
  let user: Awaited<ReturnType<typeof seedAccount>>;
  let tokenHint: string;

  before(async () => {
    if (!existsSync(DIST_INDEX)) {
      const { build } = await import('vite');
      await build({ configFile: join(ROOT, 'console', 'vite.config.ts'), logLevel: 'warn' });
    }
    mkdirSync(SHOTS, { recursive: true });
    t = await startTokend({ db: 'sqlite', listen: true });
    user = await seedAccount(t.core, { email: 'olga@example.com' });
    // An API token with an allow-list and credits, checked from inside and outside the list.
    const { token, apiToken } = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3', label: 'billing' }, CTX);
    tokenHint = apiToken.hint;
    await t.core.policies.put({ subject: { kind: 'api_token', id: apiToken.id }, accountId: user.accountId }, { ipAllowList: ['10.0.0.0/8'], credits: { remaining: 50 } }, CTX);
    for (let i = 0; i < 12; i++) await t.core.verification.check(token, { accept: ['api_token'], address: '10.1.1.1' });
    for (let i = 0; i < 3; i++) await t.core.verification.check(token, { accept: ['api_token'], address: '192.0.2.1' });
    // A client that logs in before every request.
    for (let i = 0; i < 21; i++) {
      const make = await fetch(`${t.url}/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: user.email, password: user.password, appId: user.appId }),
      });
      assert.equal(make.status, 200);
      const pair = (await make.json()) as { data: { accessToken: string } };
      assert.equal((await fetch(`${t.url}/v1/tokens/check`, { headers: { authorization: pair.data.accessToken } })).status, 200);
    }
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  });

  after(async () => {
    await browser?.close();
    await t?.close();
  });

  async function signedIn(locale: string, width: number): Promise<Page> {
    const context = await browser.newContext({ locale, viewport: { width, height: 900 } });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    await page.goto(`${t.url}/console/sign-in`);
    const form = page.getByTestId('signin-account');
    await form.locator('input[type=email]').fill(user.email);
    await form.locator('input[type=password]').fill(user.password);
    await page.getByTestId('signin-submit').click();
    await page.waitForURL(/\/console\/$/);
    return page;
  }

  it("an API token's checks per day by outcome, and its credits left", async () => {
    const page = await signedIn('en-US', 1280);
    await page.goto(`${t.url}/console/api-tokens`);
    await page.getByTestId('token-usage').first().click();
    const dialog = page.getByTestId('token-usage-dialog');
    await dialog.getByText(`Checks of ${tokenHint}`).waitFor();
    await dialog.getByTestId('token-usage-chart').waitFor();
    assert.equal((await dialog.getByTestId('token-usage-summary').textContent())?.includes('12 passed, 3 refused'), true);
    assert.equal(await dialog.getByTestId('token-credits').textContent(), 'Credits left: 38');
    assert.equal(await dialog.locator('.chart-legend li').count(), 4);
    assert.ok((await dialog.locator('rect.chart-bar-bad').count()) >= 1, 'the refusals for the address are drawn');
    await page.screenshot({ path: join(SHOTS, 'token-usage.png'), animations: 'disabled' });
    await page.context().close();
  });

  it('a customer sets rules on its own token: a rate window and an allow-list hold on the wire; a bad range is named', async () => {
    const { token, apiToken } = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3', label: 'ruled' }, CTX);
    const page = await signedIn('en-US', 1280);
    await page.goto(`${t.url}/console/api-tokens`);
    await page.locator('tr', { hasText: 'ruled' }).getByTestId('token-rules').click();
    const dialog = page.getByTestId('token-rules-dialog');
    await dialog.getByTestId('rule-add').click();
    await dialog.getByTestId('rule-limit').fill('2');
    await dialog.getByTestId('rule-unit').selectOption('60');
    await dialog.getByTestId('rule-allow').fill('10.0.0.0/33');
    await dialog.getByTestId('token-rules-save').click();
    await dialog.locator('.field.has-error').waitFor();
    assert.equal(await t.core.policies.get({ subject: { kind: 'api_token', id: apiToken.id }, accountId: user.accountId }), null, 'nothing stored');
    await page.screenshot({ path: join(SHOTS, 'token-rules-error.png'), animations: 'disabled' });
    await dialog.getByTestId('rule-allow').fill('10.0.0.0/8\n2001:db8::/32');
    await dialog.getByTestId('token-rules-save').click();
    await dialog.waitFor({ state: 'detached' });
    const stored = await t.core.policies.get({ subject: { kind: 'api_token', id: apiToken.id }, accountId: user.accountId });
    assert.deepEqual(stored?.rules.rateLimits, [{ limit: 2, windowSeconds: 60 }]);
    assert.deepEqual(stored?.rules.ipAllowList, ['10.0.0.0/8', '2001:db8::/32']);
    // This test calls from loopback: outside the list.
    const res = await fetch(`${t.url}/v3/security/api/auth/auth`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 403);
    await page.context().close();
  });

  it('the Usage page tells the account that an app logs in before every request (English, 1280 px)', async () => {
    const page = await signedIn('en-US', 1280);
    await page.goto(`${t.url}/console/usage`);
    const advice = page.locator(`[data-testid="advice"][data-app-id="${user.appId}"]`);
    await advice.locator('[data-pattern="login_per_request"]').waitFor();
    assert.match((await advice.locator('[data-pattern="login_per_request"]').textContent()) ?? '', /logs in before almost every request \(21 tokens\.make\)/);
    await page.screenshot({ path: join(SHOTS, 'usage-advice.png'), fullPage: true, animations: 'disabled' });
    await page.context().close();
  });

  it('the same advice in Russian, at 390 px', async () => {
    const page = await signedIn('ru-RU', 390);
    await page.goto(`${t.url}/console/usage`);
    const advice = page.locator(`[data-testid="advice"][data-app-id="${user.appId}"] [data-pattern="login_per_request"]`);
    await advice.waitFor();
    assert.match((await advice.textContent()) ?? '', /входит почти перед каждым запросом/);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow} px`);
    await page.screenshot({ path: join(SHOTS, 'usage-advice-ru-390.png'), fullPage: true, animations: 'disabled' });
    await page.context().close();
  });
});
