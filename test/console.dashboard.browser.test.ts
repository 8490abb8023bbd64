/**
 * The operator dashboard in Chromium, against a real tokend fed real traffic over HTTP: totals,
 * checks and refusals per minute, issuances and refreshes, the busiest accounts and tokens, and
 * the app whose client logs in before every request flagged with its advice; the range picker; in
 * English and Russian, at 1280 and 390 px (no sideways scrolling), on SQLite and PostgreSQL.
 * Screenshots (SQLite) go to test-artifacts/console/: docs/console.md shows them.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ensureConsoleBuilt, launchChromium, SHOTS, skipBrowser as skip } from './helpers/browser.ts';
import { ManualClock } from '../src/core/clock.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const ADMIN_TOKEN = 'tdm-dashboard-browser-test-admin-token-0123';
const CTX = { address: 'test' };
/** The careless client's logins (each followed by one check): enough to be flagged. */
const LOGINS = 22;

for (const db of databases()) describe(`operator dashboard in Chromium (${db})`, { skip }, () => {
  let t: TestTokend;
  let browser: Browser;
  let anna: Awaited<ReturnType<typeof seedAccount>>;
  let boris: Awaited<ReturnType<typeof seedAccount>>;
  let careless: Awaited<ReturnType<typeof seedAccount>>;
  let busyTokenId: string;
  let annaChecks = 0;
  /** What the traffic below adds up to. */
  const expected = { checks: 0, refused: 0, issued: 0, refreshed: 0 };

  before(async () => {
    await ensureConsoleBuilt();
    mkdirSync(SHOTS, { recursive: true });
    // The traffic below is spread over the last hour: the server's clock is moved by hand, then set to now.
    const clock = new ManualClock(Date.now() - 51 * 60_000);
    t = await startTokend({ db, listen: true, clock, config: { adminToken: ADMIN_TOKEN } });
    anna = await seedAccount(t.core, { email: 'anna.billing@example.com' });
    boris = await seedAccount(t.core, { email: 'boris.shop@example.com' });
    careless = await seedAccount(t.core, { email: 'carla.bot@example.com' });
    await t.core.accounts.renameApp(careless.appId, 'Chat widget', CTX);
    const invoicebox = async (token: string): Promise<number> => {
      const res = await fetch(`${t.url}/v3/security/api/auth/auth`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      return res.status;
    };
    // Anna's busy token; a second one with a rate limit that refuses some; Boris's revoked one; noise.
    const busy = await t.core.apiTokens.create({ accountId: anna.accountId, format: 'v3', label: 'billing' }, CTX);
    busyTokenId = busy.apiToken.id;
    const limited = await t.core.apiTokens.create({ accountId: anna.accountId, format: 'v3', label: 'reports' }, CTX);
    await t.core.policies.put({ subject: { kind: 'api_token', id: limited.apiToken.id }, accountId: anna.accountId }, { rateLimits: [{ limit: 5, windowSeconds: 3600 }] }, CTX);
    const revoked = await t.core.apiTokens.create({ accountId: boris.accountId, format: 'v3', label: 'old shop' }, CTX);
    await t.core.apiTokens.revoke(revoked.apiToken.id, CTX);
    // A token that expires 20 minutes in, still checked after; a CI token rotated twice.
    const shortLived = await t.core.apiTokens.create({ accountId: boris.accountId, format: 'v3', label: 'trial', expiresAt: clock.now() + 20 * 60_000 + 30_000 }, CTX);
    let ci = await t.core.apiTokens.create({ accountId: anna.accountId, format: 'native', label: 'ci' }, CTX);
    expected.issued += 5;
    const login = async (): Promise<void> => {
      const make = await fetch(`${t.url}/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: careless.email, password: careless.password, appId: careless.appId }),
      });
      assert.equal(make.status, 200);
      const pair = (await make.json()) as { data: { accessToken: string } };
      assert.equal((await fetch(`${t.url}/v1/tokens/check`, { headers: { authorization: pair.data.accessToken } })).status, 200);
      expected.checks += 1;
      expected.issued += 1;
    };
    // Fifty minutes of traffic, a minute at a time, so that the bars have a shape.
    for (let minute = 0; minute < 50; minute++) {
      clock.advance(60_000);
      const n = 3 + ((minute * 7) % 11);
      for (let i = 0; i < n; i++) assert.equal(await invoicebox(busy.token), 200);
      annaChecks += n;
      expected.checks += n;
      if (minute % 5 === 2) {
        const answer = await invoicebox(limited.token);
        annaChecks += 1;
        expected.checks += 1;
        if (answer !== 200) expected.refused += 1;
      }
      if (minute >= 30 && minute < 42) {
        assert.equal(await invoicebox(revoked.token), 401);
        expected.checks += 1;
        expected.refused += 1;
      }
      if (minute >= 10 && minute < 30 && minute % 2 === 0) {
        const answer = await invoicebox(shortLived.token);
        assert.equal(answer, minute < 20 ? 200 : 401);
        expected.checks += 1;
        if (answer !== 200) expected.refused += 1;
      }
      if (minute === 36 || minute === 44) {
        const rotated = await t.core.apiTokens.rotate(ci.apiToken.id, { graceMs: 0 }, CTX);
        assert.ok(rotated.ok);
        ci = rotated.created;
        expected.refreshed += 1;
      }
      if (minute % 4 === 0) {
        assert.equal(await invoicebox('not-a-token'), 401);
        expected.checks += 1;
        expected.refused += 1;
      }
      // A client that logs in before every request.
      if (minute >= 18 && minute < 18 + LOGINS) await login();
    }
    clock.set(Date.now());
    await t.core.traffic.flush();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await t?.close();
  });

  async function signedIn(locale: string, width: number): Promise<Page> {
    const context = await browser.newContext({ locale, viewport: { width, height: 900 } });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    await page.goto(`${t.url}/console/sign-in/operator`);
    await page.getByTestId('signin-operator').locator('input').first().fill(ADMIN_TOKEN);
    await page.getByTestId('signin-operator-submit').click();
    await page.waitForURL(/\/console\/admin$/);
    return page;
  }

  const statValue = async (page: Page, testId: string): Promise<number> => Number(await page.getByTestId(testId).getAttribute('data-value'));

  for (const [locale, width] of [
    ['en-US', 1280],
    ['ru-RU', 1280],
    ['en-US', 390],
    ['ru-RU', 390],
  ] as const) {
    const ru = locale === 'ru-RU';
    it(`shows the traffic, the top lists and the flagged app (${ru ? 'Russian' : 'English'}, ${width} px)`, async () => {
      const page = await signedIn(locale, width);
      await page.getByRole('heading', { name: ru ? 'Нагрузка' : 'Traffic', level: 2 }).waitFor();
      await page.locator('.traffic-stats[data-range="1h"]').waitFor();
      assert.equal(await statValue(page, 'stat-checks'), expected.checks);
      assert.equal(await statValue(page, 'stat-refused'), expected.refused);
      assert.equal(await statValue(page, 'stat-issued'), expected.issued);
      assert.equal(await statValue(page, 'stat-refreshed'), expected.refreshed);
      // Three charts with bars in them; the refusals by reason drawn in their colours.
      for (const chart of ['traffic-checks', 'traffic-refusals', 'traffic-issuance']) {
        assert.ok((await page.getByTestId(chart).locator('rect').count()) >= 1, chart);
      }
      assert.ok((await page.getByTestId('traffic-refusals').locator('rect.chart-bar-bad').count()) >= 1, 'the revoked token is drawn');
      assert.ok((await page.getByTestId('traffic-refusals').locator('rect.chart-bar-info').count()) >= 1, 'the rate limit is drawn');
      assert.equal(await page.getByTestId('traffic-refusals-card').locator('.chart-legend li').count(), 6);
      // The top lists: Anna's checks first; Boris's revoked token the most refused.
      const firstRow = (list: string) => page.getByTestId(list).getByTestId('top-row').first();
      assert.equal(await firstRow('top-accounts-checks').getAttribute('data-account-id'), String(anna.accountId));
      assert.equal(await firstRow('top-accounts-checks').getAttribute('data-count'), String(annaChecks));
      assert.equal(await firstRow('top-accounts-refusals').getAttribute('data-account-id'), String(boris.accountId));
      assert.equal(await firstRow('top-tokens-checks').getAttribute('data-id'), busyTokenId);
      assert.match((await firstRow('top-accounts-checks').textContent()) ?? '', /anna\.billing@example\.com/);
      // The app that logs in before every request, with the advice its owner gets.
      const flagged = page.locator(`[data-testid="flagged-app"][data-app-id="${careless.appId}"]`);
      const advice = flagged.locator('[data-pattern="login_per_request"]');
      await advice.waitFor();
      assert.match((await advice.textContent()) ?? '', ru ? /входит почти перед каждым запросом \(22 вызовов tokens\.make\)/ : /logs in before almost every request \(22 tokens\.make\)/);
      assert.match((await flagged.textContent()) ?? '', /carla\.bot@example\.com/);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow} px`);

      if (db === 'sqlite') {
        const name = `operator-traffic-${ru ? 'ru' : 'en'}-${width}`;
        await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
        await page.getByTestId('flagged-apps').screenshot({ path: join(SHOTS, `operator-flagged-apps-${ru ? 'ru' : 'en'}-${width}.png`), animations: 'disabled' });
      }

      // Another range: the same figures, in wider bars.
      await page.getByTestId('range-7d').click();
      await page.locator('.traffic-stats[data-range="7d"]').waitFor();
      assert.equal(await page.getByTestId('range-7d').getAttribute('aria-pressed'), 'true');
      assert.equal(await statValue(page, 'stat-checks'), expected.checks);
      assert.equal(await page.getByTestId('traffic-checks').locator('g').filter({ has: page.locator('rect') }).count(), 168);
      await page.context().close();
    });
  }
});
