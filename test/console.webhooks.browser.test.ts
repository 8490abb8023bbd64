/**
 * The console's Webhooks page in Chromium: an account adds an endpoint (its secret shown once),
 * an event reaches a real receiver signed with that secret, the delivery and its attempts are
 * listed and sent again from the page; a private address is refused next to the URL field; the
 * operator sees the account's endpoint on its own page. SQLite only, like the rest of the browser
 * tests: the page is the same over both databases.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';
import { verifyStandardWebhook, WebhookReceiver } from './helpers/webhook-receiver.ts';

process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = '1';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST_INDEX = join(ROOT, 'console', 'dist', 'index.html');
const SHOTS = join(ROOT, 'test-artifacts', 'console');
const CHROMIUM = '/usr/bin/chromium';
const ADMIN_TOKEN = 'tdm-webhooks-browser-admin-token-0123456789';

/** Builds the console when there is no build, or one older than its sources (this page is new). */
async function ensureConsoleBuilt(): Promise<void> {
  const newest = async (dir: string): Promise<number> => {
    let max = 0;
    for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
      if (entry.isFile()) max = Math.max(max, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
    return max;
  };
  if (existsSync(DIST_INDEX) && statSync(DIST_INDEX).mtimeMs > (await newest(join(ROOT, 'console', 'src')))) return;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'console', 'vite.config.ts'), logLevel: 'warn' });
  assert.ok(existsSync(DIST_INDEX), 'vite build did not produce console/dist/index.html');
}

const skip = !existsSync(CHROMIUM) && !process.env.CI ? `no Chromium at ${CHROMIUM} (CI installs it)` : false;

describe('console webhooks page in Chromium', { skip }, () => {
  let t: TestTokend;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let user: Awaited<ReturnType<typeof seedAccount>>;
  const receiver = new WebhookReceiver();

  before(async () => {
    await ensureConsoleBuilt();
    mkdirSync(SHOTS, { recursive: true });
    await receiver.start();
    t = await startTokend({ db: 'sqlite', listen: true, config: { adminToken: ADMIN_TOKEN, webhookAllowedNetworks: ['127.0.0.1'], webhookPollInterval: 20 } });
    t.services.startBackground();
    user = await seedAccount(t.core, { email: 'vera@example.com' });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'], timeout: 60_000 });
    context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 860 } });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await t?.close();
    await receiver.close();
  });

  it('adds an endpoint, shows its secret once, lists the delivery and sends it again', async () => {
    await page.goto(`${t.url}/console/sign-in`);
    const form = page.getByTestId('signin-account');
    await form.getByLabel('Email').fill(user.email);
    await form.getByLabel('Password').fill(user.password);
    await page.getByTestId('signin-submit').click();
    await page.waitForURL(/\/console\/$/);
    await page.getByRole('navigation').getByRole('link', { name: 'Webhooks', exact: true }).click();
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();

    // A private address is refused, next to the URL field, and the dialog stays open.
    await page.getByTestId('new-webhook').first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByTestId('webhook-url').fill('http://10.0.0.1/hook');
    await page.getByTestId('create-webhook').click();
    await dialog.locator('.field.has-error').waitFor();

    await dialog.getByTestId('webhook-url').fill(`${receiver.url}/console-hook`);
    await dialog.getByLabel('api_token.created').check();
    await page.getByTestId('create-webhook').click();
    const secret = ((await page.getByTestId('webhook-secret').textContent()) ?? '').trim();
    assert.match(secret, /^whsec_/);
    await page.screenshot({ path: join(SHOTS, '30-webhook-secret.png') });
    await page.getByTestId('secret-done').click();
    await page.getByTestId('webhook-endpoint').getByText(`${receiver.url}/console-hook`).waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the secret is gone from the page once closed');

    await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: 'from the test' }, { address: 'test' });
    const [got] = await receiver.waitFor('/console-hook', 1);
    assert.ok(verifyStandardWebhook(secret, got!.headers, got!.body));

    await page.getByTestId('webhook-deliveries').click();
    await page.locator('[data-testid="webhook-delivery-row"][data-status="delivered"]').waitFor();
    await page.getByTestId('webhook-redeliver').click();
    await receiver.waitFor('/console-hook', 2);
    await page.getByTestId('webhook-deliveries').click();
    await page.getByTestId('webhook-deliveries').click();
    await page.locator('[data-testid="webhook-attempt-row"]').nth(1).waitFor();
    await page.screenshot({ path: join(SHOTS, '31-webhook-deliveries.png'), fullPage: true });
  });

  it("the operator sees the account's endpoint, with its owner", async () => {
    await page.goto(`${t.url}/console/sign-in/operator`);
    const form = page.getByTestId('signin-operator');
    await form.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByTestId('signin-operator-submit').click();
    await page.waitForURL(/\/console\/admin\/accounts$/);
    await page.goto(`${t.url}/console/admin/webhooks`);
    const card = page.getByTestId('webhook-endpoint').filter({ hasText: `${receiver.url}/console-hook` });
    await card.getByText(`#${user.accountId}`).waitFor();
  });
});
