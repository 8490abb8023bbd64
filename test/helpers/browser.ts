/**
 * The console's browser tests: Debian's Chromium driven by playwright-core, which has no browser
 * of its own and must never fetch one. Shared by every test/console*.browser.test.ts.
 */
import { strict as assert } from 'node:assert';
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';

process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = '1';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SHOTS = join(ROOT, 'test-artifacts', 'console');
const DIST_INDEX = join(ROOT, 'console', 'dist', 'index.html');
/**
 * Debian's Chromium headless shell (package chromium-headless-shell, which CI installs) when it is
 * there, else the browser itself in its headless mode. The shell is the same Blink and V8 of the
 * same release without the browser's own layers (the window system, extensions, its UI), and
 * what Playwright itself runs for headless tests; here it takes about a third less CPU than the
 * full browser for the same test file (the console's files: 73 CPU-seconds against 102).
 */
export const CHROMIUM = ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'].find((path) => existsSync(path)) ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/** Why the browser tests cannot run here (no Chromium outside CI), or false. */
export const skipBrowser: string | false = !existsSync(CHROMIUM) && !process.env.CI ? `no Chromium at ${CHROMIUM} (CI installs it)` : false;

/** The newest modification time of the files under `dir`. */
async function newest(dir: string): Promise<number> {
  let max = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) max = Math.max(max, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return max;
}

/**
 * The console is built by `npm install` (prepare); a checkout without a build, or with one older
 * than its sources (a page changed since), gets built here first.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  if (existsSync(DIST_INDEX) && statSync(DIST_INDEX).mtimeMs > (await newest(join(ROOT, 'console', 'src')))) return;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'console', 'vite.config.ts'), logLevel: 'warn' });
  assert.ok(existsSync(DIST_INDEX), 'vite build did not produce console/dist/index.html');
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}
