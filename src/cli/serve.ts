import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { pino, type Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Services } from '../services.ts';
import { VERSION } from '../version.ts';
import type { CliIO } from './context.ts';
import { printer } from './output.ts';
import { configFrom, locateDatabase } from './target.ts';

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
      // The server's modules load here, not with the command line: every other command (and
      // `--help`) starts without them.
      const [{ buildApp }, { lowerThreadpoolPriority }, { startTracing }, { openServices }, { DEMO, seedDemo }] = await Promise.all([
        import('../http/app.ts'),
        import('../secrets/kdf-priority.ts'),
        import('../observability/tracing.ts'),
        import('../services.ts'),
        import('./demo.ts'),
      ]);
      const logger = createLogger(config.logLevel);
      // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; then the OpenTelemetry SDK is loaded (docs/operations.md, "Traces").
      const tracing = await startTracing(process.env, VERSION);
      const services = await openServices(config, { logger, tracing });
      // Open connections (the pool, the LISTEN session) would keep a failed start alive forever.
      const failed = async (error: unknown): Promise<never> => {
        await services.close().catch(() => {});
        throw error;
      };
      const { core } = services;
      const demo = config.demo ? await seedDemo(core).catch(failed) : null;
      // Without TOKEND_ADMIN_TOKEN, the first start generates one; only that start prints it.
      const admin = await core.callers.ensureAdminToken({ address: 'serve' }).catch(failed);
      // Loads the JWT key ring now (creating its first key): a missing master key is generated and
      // announced at start, and one that cannot open the stored keys stops the start here.
      await core.signing.ready().catch(failed);
      let draining = false;
      const app = await buildApp({ core, logger, metrics: services.metrics, tracing, draining: () => draining }).catch(failed);
      // argon2id below the event loop: a login burst must not slow token checks (src/secrets/kdf-priority.ts).
      lowerThreadpoolPriority();
      const purge = setInterval(() => {
        core.purgeExpiredCounters().catch((err: unknown) => logger.warn({ err }, 'counter purge failed'));
        core.console.purgeExpired().catch((err: unknown) => logger.warn({ err }, 'console sign-in purge failed'));
      }, 10 * 60_000);
      purge.unref();

      const address = await app.listen({ port: config.port, host: config.host }).catch(failed);
      // Webhook deliveries and the audit retention cut: a server's work, never a one-shot command's.
      services.startBackground();
      const port = (app.server.address() as { port: number }).port;
      io.out(`tokend listening on ${address} (database: ${core.databaseKind})`);
      const base = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
      io.out(`  console   ${base}/console/`);
      io.out(`  API docs  ${base}/docs`);
      io.out(`  database  ${locateDatabase(config, o, io.env).shown}`);
      if (admin.generated) {
        io.err(BANNER_RULE);
        io.err('!! Admin token generated (shown once; tokend keeps only its SHA-256). Store it now:');
        io.err(`!!   ${admin.generated}`);
        io.err('!! Set TOKEND_ADMIN_TOKEN to choose your own instead.');
        io.err(BANNER_RULE);
      }
      if (demo) {
        io.err(BANNER_RULE);
        io.err('!! DEMO MODE: well-known sandbox credentials are active. Never use this in production.');
        for (const line of demo.repaired) io.err(`!! Repaired: ${line}.`);
        io.err(BANNER_RULE);
        for (const line of demo.lines) io.out(line);
        io.out('');
        io.out('  try it:');
        io.out(`  curl -s -X POST ${base}/v1/tokens -H 'Content-Type: application/json' \\`);
        io.out(`       -d '{"email":"demo@tokend.dev","password":"demo-password","appId":"app_demo"}'`);
        io.out(`  curl -L -X GET '${base}/v3/security/api/auth/auth' -H 'Accept: application/json' \\`);
        io.out(`       -H 'User-Agent: MyApp 1.0' -H 'Authorization: Bearer ${DEMO.v3Token}'`);
        io.out(`  curl -s -X POST ${base}/service/account/create/token \\`);
        io.out(`       -H 'Access-Key: ${DEMO.accessKey}' -H 'Secret-Key: ${DEMO.secretKey}'`);
      }

      // Requests between their headers and the end of their answer (or their client going away):
      // what a shutdown waits for before it closes the server.
      let inFlight = 0;
      // One listener for every response ('close' comes once per response): no closure and no
      // `once` wrapper made per request.
      const answered = (): void => {
        inFlight--;
      };
      app.server.on('request', (_req: unknown, res: { on(event: 'close', fn: () => void): unknown }) => {
        inFlight++;
        res.on('close', answered);
      });

      /**
       * Graceful shutdown (docs/operations.md, "Stopping a node"): `/readyz` turns 503 and every answer
       * closes its connection for TOKEND_SHUTDOWN_DRAIN, so that load balancers and keep-alive
       * clients move on while the node still serves; then it waits for the requests in flight (at
       * most TOKEND_SHUTDOWN_TIMEOUT; a request whose body is still arriving counts), stops
       * accepting, writes the batched usage counts and `last used` times, and closes the store.
       * The server is closed only once nothing is in flight: Node ends a connection whose request
       * completes after the server closed, before its answer, so closing first would cut them.
       */
      let closing = false;
      const shutdown = async (signal: string): Promise<void> => {
        if (closing) return;
        closing = true;
        draining = true;
        logger.info({ signal, drainMs: config.shutdownDrain }, 'shutting down: draining');
        clearInterval(purge);
        await sleep(config.shutdownDrain);
        const deadline = Date.now() + config.shutdownTimeout;
        while (inFlight > 0 && Date.now() < deadline) await sleep(10);
        if (inFlight > 0) {
          logger.warn({ inFlight, timeoutMs: config.shutdownTimeout }, 'requests still in flight after TOKEND_SHUTDOWN_TIMEOUT: closing their connections');
          app.server.closeAllConnections();
        }
        await app.close();
        await services.close();
        await tracing?.shutdown().catch((err: unknown) => logger.warn({ err }, 'could not export the last spans'));
        logger.info('stopped');
      };
      const stop = (signal: string): void => {
        shutdown(signal).then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'error during shutdown');
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });

  program
    .command('migrate')
    .description('Create the database, or bring it up to date, and exit (serve also does this at start)')
    .option('--data-dir <dir>', 'data directory holding the SQLite database tokend.db (TOKEND_DATA_DIR, default ./data)')
    .option('--database-url <url>', 'postgres://… for PostgreSQL (TOKEND_DATABASE_URL)')
    .option('--json', 'print one JSON object: {"database","applied":[…]}')
    .action(async (o: { dataDir?: string; databaseUrl?: string; json?: boolean }) => {
      const config = configFrom(io, { dataDir: o.dataDir, databaseUrl: o.databaseUrl });
      const db = locateDatabase(config, o, io.env);
      const services = await openStore(config);
      try {
        const applied = await services.db.migrate();
        io.err(`tokend: using the ${db.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'} database ${db.shown}`);
        printer(io, o.json).result({ database: db.shown, applied }, [applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date']);
      } finally {
        await services.close();
      }
    });
}

/** The store alone, for a one-shot command (no checkpoint thread, no metrics). */
async function openStore(config: Config): Promise<Services> {
  const { openServices } = await import('../services.ts');
  return openServices(config, { migrate: false, backgroundCheckpoints: false, metrics: null });
}
