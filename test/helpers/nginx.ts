/**
 * A real nginx on loopback, run from a temp prefix on a free port with a config the test writes:
 * what the proxy tests put between a client and tokend.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const NGINX = '/usr/sbin/nginx';

/** A reason to skip when nginx is missing outside CI (CI installs it), else false. */
export const nginxSkip: string | false = !existsSync(NGINX) && !process.env.CI ? `${NGINX} is not installed (CI installs it)` : false;

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningNginx {
  base: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts nginx with `httpBlock` as the body of its `http {}` block; `PORT` in it is replaced by the listening port. */
export async function startNginx(httpBlock: string): Promise<RunningNginx> {
  const prefix = mkdtempSync(join(tmpdir(), 'tokend-nginx-'));
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const port = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${join(prefix, `${k}_temp`)};`).join('\n');
  // As root, nginx would switch its workers to `nobody`; keep them root so they can use the temp prefix.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `${user}error_log ${join(prefix, 'error.log')} warn;\nworker_processes 1;\nevents { worker_connections 256; }\n` +
      `http {\n  access_log ${join(prefix, 'access.log')};\n${temp}\n${httpBlock.replaceAll('PORT', String(port))}\n}\n`,
  );
  const running = await runNginx(prefix, conf, port);
  return {
    base: running.base,
    port,
    async stop() {
      await running.stop();
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

/**
 * Runs nginx with the config file `conf` from the prefix `prefix` until it answers on `port`
 * (bounded); `stop()` ends it (SIGTERM, then SIGKILL after 5 s). The prefix stays the caller's.
 */
export async function runNginx(prefix: string, conf: string, port: number): Promise<{ base: string; stop(): Promise<void> }> {
  const nginx: ChildProcess = spawn(NGINX, ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log'), '-g', `daemon off; pid ${join(prefix, 'nginx.pid')};`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  nginx.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    try {
      await fetch(base);
      break;
    } catch {
      if (i >= 100) throw new Error(`nginx did not start: ${stderr}`);
      await sleep(50);
    }
  }
  return {
    base,
    async stop() {
      if (nginx.exitCode !== null) return;
      const exited = new Promise((resolve) => nginx.once('exit', resolve));
      nginx.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (nginx.exitCode === null) nginx.kill('SIGKILL');
    },
  };
}
