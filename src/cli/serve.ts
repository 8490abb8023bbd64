import type { Command } from 'commander';
import { pino, type Logger } from 'pino';
import { buildApp } from '../http/app.ts';
import { lowerThreadpoolPriority } from '../secrets/kdf-priority.ts';
import { openServices } from '../services.ts';
import { configFrom, type CliIO } from './context.ts';
import { DEMO, seedDemo } from './demo.ts';

const BANNER_RULE = '!'.repeat(78);

/** pino on stdout; paths that could hold a secret are censored even if someone logs them. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.refresh',
        'req.headers["refresh-token"]',
        'req.headers["access-token"]',
        'req.headers["secret-key"]',
        'req.headers.cookie',
        '*.password',
        '*.secretKey',
        '*.refreshToken',
        '*.accessToken',
        '*.token',
      ],
      censor: '[redacted]',
    },
  });
}

export function registerServe(program: Command, io: CliIO): void {
  program
    .command('serve')
    .description('Run the HTTP service')
    .option('--port <port>', 'TCP port (TOKEND_PORT, default 8080)')
    .option('--host <host>', 'bind address (TOKEND_HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'data directory for SQLite and generated files (TOKEND_DATA_DIR, default ./data)')
    .option('--database-url <url>', 'postgres://… to use PostgreSQL (TOKEND_DATABASE_URL)')
    .option('--demo', 'seed and announce the demo sandbox (TOKEND_DEMO)')
    .action(async (o: { port?: string; host?: string; dataDir?: string; databaseUrl?: string; demo?: boolean }) => {
      const config = configFrom(io, { port: o.port, host: o.host, dataDir: o.dataDir, databaseUrl: o.databaseUrl, demo: o.demo });
      const logger = createLogger(config.logLevel);
      const services = await openServices(config, { logger });
      // Open connections (the pool, the LISTEN session) would keep a failed start alive forever.
      const failed = async (error: unknown): Promise<never> => {
        await services.close().catch(() => {});
        throw error;
      };
      const { core } = services;
      let demoLines: string[] = [];
      if (config.demo) demoLines = (await seedDemo(core).catch(failed)).lines;
      // Without TOKEND_ADMIN_TOKEN, the first start generates one; only that start prints it.
      const admin = await core.callers.ensureAdminToken({ address: 'serve' }).catch(failed);
      // Loads the JWT key ring now (creating its first key): a missing master key is generated and
      // announced at start, and one that cannot open the stored keys stops the start here.
      await core.signing.ready().catch(failed);
      const app = await buildApp({ core, logger }).catch(failed);
      // argon2id below the event loop: a login burst must not slow token checks (src/secrets/kdf-priority.ts).
      lowerThreadpoolPriority();
      const purge = setInterval(() => {
        core.purgeExpiredCounters().catch((err: unknown) => logger.warn({ err }, 'counter purge failed'));
        core.console.purgeExpired().catch((err: unknown) => logger.warn({ err }, 'console sign-in purge failed'));
      }, 10 * 60_000);
      purge.unref();

      const address = await app.listen({ port: config.port, host: config.host }).catch(failed);
      const port = (app.server.address() as { port: number }).port;
      io.out(`tokend listening on ${address} (database: ${core.databaseKind})`);
      if (admin.generated) {
        io.err(BANNER_RULE);
        io.err('!! Admin token generated (shown once; tokend keeps only its SHA-256). Store it now:');
        io.err(`!!   ${admin.generated}`);
        io.err('!! Set TOKEND_ADMIN_TOKEN to choose your own instead.');
        io.err(BANNER_RULE);
      }
      if (config.demo) {
        const base = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
        io.err(BANNER_RULE);
        io.err('!! DEMO MODE: well-known sandbox credentials are active. Never use this in production.');
        io.err(BANNER_RULE);
        for (const line of demoLines) io.out(line);
        io.out('');
        io.out('  try it:');
        io.out(`  curl -s -X POST ${base}/v1/tokens -H 'Content-Type: application/json' \\`);
        io.out(`       -d '{"email":"demo@tokend.dev","password":"demo-password","appId":"app_demo"}'`);
        io.out(`  curl -L -X GET '${base}/v3/security/api/auth/auth' -H 'Accept: application/json' \\`);
        io.out(`       -H 'User-Agent: MyApp 1.0' -H 'Authorization: Bearer ${DEMO.v3Token}'`);
        io.out(`  curl -s -X POST ${base}/service/account/create/token \\`);
        io.out(`       -H 'Access-Key: ${DEMO.accessKey}' -H 'Secret-Key: ${DEMO.secretKey}'`);
      }

      let closing = false;
      const shutdown = (signal: string): void => {
        if (closing) return;
        closing = true;
        logger.info({ signal }, 'shutting down');
        clearInterval(purge);
        app
          .close()
          .then(() => services.close())
          .then(
            () => process.exit(0),
            (err: unknown) => {
              logger.error({ err }, 'error during shutdown');
              process.exit(1);
            },
          );
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });

  program
    .command('migrate')
    .description('Apply database migrations and exit (serve also applies them at start)')
    .option('--data-dir <dir>', 'data directory (TOKEND_DATA_DIR)')
    .option('--database-url <url>', 'database URL (TOKEND_DATABASE_URL)')
    .action(async (o: { dataDir?: string; databaseUrl?: string }) => {
      const services = await openServices(configFrom(io, o), { migrate: false, backgroundCheckpoints: false });
      try {
        const applied = await services.db.migrate();
        io.out(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await services.close();
      }
    });
}
