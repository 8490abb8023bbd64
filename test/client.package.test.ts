/**
 * The SDK as its users get it: `npm pack` in client/ (which builds client/dist), the tarball
 * installed into a fresh folder outside this repository, then
 * - imported by a Node script and by a strict TypeScript consumer (the .d.ts files), and
 * - bundled by Vite into a small page that runs in Chromium,
 * each logging in to a real tokend with the ChatApp scheme and checking the token.
 */
import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { launchChromium, skipBrowser } from './helpers/browser.ts';
import { seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENT = join(ROOT, 'client');

/** npm with the Node running this test first on PATH (its lifecycle scripts run on it too). */
function npm(args: string[], cwd: string): string {
  const path = `${join(process.execPath, '..')}:${process.env.PATH ?? ''}`;
  return execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, PATH: path }, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('the SDK installed from its npm pack tarball', () => {
  let t: TestTokend;
  let user: Awaited<ReturnType<typeof seedAccount>>;
  let dir: string;
  let app: string;

  before(async () => {
    t = await startTokend({ db: 'sqlite', listen: true });
    user = await seedAccount(t.core);
    dir = mkdtempSync(join(tmpdir(), 'tokend-sdk-'));
    npm(['pack', '--pack-destination', dir], CLIENT);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote a tarball');
    app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'sdk-user', private: true, type: 'module' }));
    // jose, the SDK's one dependency, comes from the registry (or npm's cache) like for any user.
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball)], app);
  });

  after(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships JavaScript and type declarations, not TypeScript sources to strip', () => {
    const installed = join(app, 'node_modules', '@tokend', 'client');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    for (const entry of Object.values(manifest.exports)) {
      assert.match(entry.default, /\.js$/);
      assert.ok(existsSync(join(installed, entry.default)), `${entry.default} is in the package`);
      assert.ok(existsSync(join(installed, entry.types)), `${entry.types} is in the package`);
    }
  });

  it('imports in Node and logs in to tokend', async () => {
    const script = join(app, 'check.mjs');
    writeFileSync(
      script,
      `import { ChatAppClient } from '@tokend/client';
import { FileTokenStore } from '@tokend/client/file-store';
const [baseUrl, email, password, appId, storeFile] = process.argv.slice(2);
const client = new ChatAppClient({ baseUrl, apiUrl: baseUrl, credentials: { email, password, appId }, store: new FileTokenStore(storeFile) });
process.stdout.write(JSON.stringify(await client.check()));
`,
    );
    // Not execFileSync: tokend runs in this process and must keep answering.
    const { stdout: out } = await promisify(execFile)(process.execPath, [script, t.url, user.email, user.password, user.appId, join(app, 'tokens.json')], { cwd: app, encoding: 'utf8' });
    const check = JSON.parse(out) as { cabinetUserId: number; appId: string };
    assert.equal(check.cabinetUserId, user.accountId);
    assert.equal(check.appId, user.appId);
    assert.ok(existsSync(join(app, 'tokens.json')), 'the file store kept the pair');
  });

  it('type-checks in a strict TypeScript consumer', () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      `import { ChatAppClient, type ChatAppCheck } from '@tokend/client';
import { FileTokenStore } from '@tokend/client/file-store';
const client = new ChatAppClient({ baseUrl: 'http://x', apiUrl: 'http://x', credentials: { email: 'e', password: 'p', appId: 'a' }, store: new FileTokenStore('t.json') });
export const check: Promise<ChatAppCheck> = client.check();
// @ts-expect-error the declarations are real: a check has no such field
export const wrong: Promise<string> = client.check().then((c) => c.noSuchField);
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2024', lib: ['es2024', 'dom'], noEmit: true, types: [] }, files: ['consumer.ts'] }),
    );
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.json')], { cwd: app, encoding: 'utf8' });
  });

  it('bundles with Vite into a page that runs in Chromium', { skip: skipBrowser }, async () => {
    const page = join(app, 'page');
    mkdirSync(page);
    writeFileSync(join(page, 'index.html'), '<!doctype html><meta charset="utf-8"><title>sdk</title><script type="module" src="./main.js"></script><pre id="out">…</pre>');
    writeFileSync(
      join(page, 'main.js'),
      `import { ChatAppClient } from '@tokend/client';
const params = new URLSearchParams(location.hash.slice(1));
const client = new ChatAppClient({ baseUrl: location.origin, apiUrl: location.origin, credentials: { email: params.get('email'), password: params.get('password'), appId: params.get('appId') } });
client.check().then((c) => { document.getElementById('out').textContent = JSON.stringify(c); }, (e) => { document.getElementById('out').textContent = 'error: ' + e; });
`,
    );
    const { build } = await import('vite');
    await build({ root: page, logLevel: 'warn', configFile: false, build: { outDir: join(page, 'dist'), emptyOutDir: true } });
    const bundle = readdirSync(join(page, 'dist', 'assets')).find((f) => f.endsWith('.js'));
    assert.ok(bundle, 'vite wrote a bundle');
    assert.match(readFileSync(join(page, 'dist', 'assets', bundle), 'utf8'), /v1\/tokens/, 'the SDK is in the bundle');

    // The page and tokend on one origin, as an app would serve them: its files here, the rest to tokend.
    const server = await servePage(join(page, 'dist'), t.url);
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const hash = new URLSearchParams({ email: user.email, password: user.password, appId: user.appId }).toString();
      await tab.goto(`${origin}/#${hash}`);
      await tab.waitForFunction(() => document.getElementById('out')?.textContent !== '…', undefined, { timeout: 30_000 });
      const text = (await tab.textContent('#out')) ?? '';
      assert.doesNotMatch(text, /^error/, text);
      assert.equal((JSON.parse(text) as { cabinetUserId: number }).cabinetUserId, user.accountId);
    } finally {
      await browser.close();
      server.close();
    }
  });
});

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

/** Serves `dist` at / and forwards every other path to tokend. */
async function servePage(dist: string, tokend: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = req.url === '/' || req.url?.startsWith('/#') ? '/index.html' : (req.url ?? '/');
    const file = join(dist, path.split('?')[0]!);
    if (file.startsWith(dist) && existsSync(file) && !file.endsWith('/')) {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(readFileSync(file));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>;
      const body = chunks.length ? Buffer.concat(chunks) : null;
      fetch(tokend + req.url, { method: req.method ?? 'GET', headers, ...(body && req.method !== 'GET' ? { body } : {}) }).then(
        async (answer) => {
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await answer.arrayBuffer()));
        },
        () => {
          res.writeHead(502);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
