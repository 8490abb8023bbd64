/**
 * Passwords in the web console, in Chromium against a real tokend (as test/console.browser.test.ts
 * does): the operator makes a reset link on the Accounts page, the account holder opens it signed
 * out, the page takes the token out of the address bar and sets the password; a signed-in account
 * changes its password on the Password page, and its other sign-ins end.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = '1';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST_INDEX = join(ROOT, 'console', 'dist', 'index.html');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];
const ADMIN_TOKEN = 'tdm-passwords-test-admin-token-0123456789';

async function ensureConsoleBuilt(): Promise<void> {
  if (existsSync(DIST_INDEX)) return;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'console', 'vite.config.ts'), logLevel: 'warn' });
  assert.ok(existsSync(DIST_INDEX), 'vite build did not produce console/dist/index.html');
}

const skip = !existsSync(CHROMIUM) && !process.env.CI ? `no Chromium at ${CHROMIUM} (CI installs it)` : false;

describe('console passwords in Chromium', { skip }, () => {
  let t: TestTokend;
  let browser: Browser;
  let operator: BrowserContext;
  let holder: BrowserContext;
  let user: Awaited<ReturnType<typeof seedAccount>>;

  before(async () => {
    await ensureConsoleBuilt();
    t = await startTokend({ db: 'sqlite', listen: true, config: { adminToken: ADMIN_TOKEN } });
    user = await seedAccount(t.core, { email: 'vera@example.com', password: 'the first password' });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    operator = await browser.newContext({ locale: 'en-US' });
    holder = await browser.newContext({ locale: 'en-US' });
    operator.setDefaultTimeout(15_000);
    holder.setDefaultTimeout(15_000);
  });

  after(async () => {
    await operator?.close();
    await holder?.close();
    await browser?.close();
    await t?.close();
  });

  async function signIn(page: Page, email: string, password: string): Promise<void> {
    await page.goto(`${t.url}/console/sign-in`);
    const form = page.getByTestId('signin-account');
    await form.getByLabel('Email').fill(email);
    await form.getByLabel('Password').fill(password);
    await page.getByTestId('signin-submit').click();
    await page.waitForURL(/\/console\/$/);
  }

  it('a reset link made on the Accounts page sets the password, signed out, and leaves no token in the address bar', async () => {
    const page = await operator.newPage();
    await page.goto(`${t.url}/console/sign-in/operator`);
    await page.getByTestId('signin-operator').getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByTestId('signin-operator-submit').click();
    await page.waitForURL(/\/console\/admin\/accounts$/);
    const row = page.locator(`[data-testid="account-row"][data-email="${user.email}"]`);
    await row.getByTestId('reset-link').click();
    const url = (await page.getByTestId('reset-link-url').textContent())?.trim() ?? '';
    assert.match(url, /\/console\/reset-password#token=tdw_/);

    const open = await holder.newPage();
    await open.goto(url);
    const form = open.getByTestId('reset-form');
    await form.waitFor();
    assert.ok(!open.url().includes('tdw_'), `the token stays in the address bar: ${open.url()}`);
    await form.getByLabel('New password', { exact: true }).fill('the second password');
    await form.getByLabel('New password again').fill('not the same');
    await open.getByTestId('reset-submit').click();
    await form.getByText('The two passwords differ.').waitFor();
    await form.getByLabel('New password again').fill('the second password');
    await open.getByTestId('reset-submit').click();
    await open.getByTestId('reset-done').waitFor();
    await open.getByTestId('reset-sign-in').click();
    await signIn(open, user.email, 'the second password');

    // The link works once.
    const again = await holder.newPage();
    await again.goto(url);
    await again.getByTestId('reset-form').getByLabel('New password', { exact: true }).fill('a third password');
    await again.getByTestId('reset-form').getByLabel('New password again').fill('a third password');
    await again.getByTestId('reset-submit').click();
    await again.getByTestId('reset-error').getByText(/invalid, used or expired/).waitFor();
    await again.close();
  });

  it('the Password page changes the password; a wrong current one is refused next to it; other sign-ins end', async () => {
    const elsewhere = await browser.newContext({ locale: 'en-US' });
    try {
      const other = await elsewhere.newPage();
      await signIn(other, user.email, 'the second password');
      const page = await holder.newPage();
      await page.goto(`${t.url}/console/password`);
      const form = page.getByTestId('password-change');
      await form.getByLabel('Current password').fill('not it');
      await form.getByLabel('New password', { exact: true }).fill('the third password');
      await form.getByLabel('New password again').fill('the third password');
      await page.getByTestId('password-submit').click();
      await form.getByText('This is not the current password.').waitFor();
      await form.getByLabel('Current password').fill('the second password');
      await page.getByTestId('password-submit').click();
      await page.getByTestId('password-changed').waitFor();
      const mine = await page.evaluate(async () => (await fetch('/api/cabinet/me')).status);
      assert.equal(mine, 200, 'the sign-in that changed the password ended');
      const theirs = await other.evaluate(async () => (await fetch('/api/cabinet/me')).status);
      assert.equal(theirs, 401, 'another sign-in survived the change');
    } finally {
      await elsewhere.close();
    }
  });
});
