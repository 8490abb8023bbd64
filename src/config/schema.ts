/**
 * Every setting tokend has: one table, each with its environment variable, its `serve` flag (if
 * any), its default and why it is what it is. docs/configuration.md is checked against this table
 * by test/config.test.ts, so the two cannot drift.
 */
import { boolean, duration, integer, oneOf, text, type Parser } from './parsers.ts';

export interface Setting<T> {
  env: string;
  flag?: string;
  default: T;
  /** How the default reads in docs (durations as `24h`, not milliseconds). */
  defaultText: string;
  parser: Parser<T>;
  doc: string;
  /** Secrets are never echoed back in errors or logs. */
  secret?: boolean;
}

function setting<T>(s: Setting<T>): Setting<T> {
  return s;
}

const DAY = 86_400_000;

export const SETTINGS = {
  port: setting({ env: 'TOKEND_PORT', flag: '--port', default: 8080, defaultText: '8080', parser: integer(0, 65535),
    doc: 'TCP port the HTTP server listens on (0 picks a free port).' }),
  host: setting({ env: 'TOKEND_HOST', flag: '--host', default: '127.0.0.1', defaultText: '127.0.0.1', parser: text({ minLength: 1 }),
    doc: 'Address to bind. Loopback by default: put tokend behind your reverse proxy, or set 0.0.0.0 deliberately.' }),
  dataDir: setting({ env: 'TOKEND_DATA_DIR', flag: '--data-dir', default: './data', defaultText: './data', parser: text({ minLength: 1 }),
    doc: 'Directory for the embedded SQLite database (`tokend.db`) and generated files. Created if missing.' }),
  databaseUrl: setting({ env: 'TOKEND_DATABASE_URL', flag: '--database-url', default: '', defaultText: '(empty: SQLite in the data dir)',
    parser: text({ pattern: /^(postgres|postgresql|sqlite):/, patternDescription: 'a postgres:// or sqlite: URL' }), secret: true,
    doc: 'Database to use. Empty: embedded SQLite at `<data dir>/tokend.db`. `postgres://user:pass@host:5432/db` selects PostgreSQL; `sqlite:/path/file.db` an explicit SQLite file.' }),
  demo: setting({ env: 'TOKEND_DEMO', flag: '--demo', default: false, defaultText: 'false', parser: boolean(),
    doc: 'Seed the demo sandbox (SPEC 3.4) with published, well-known credentials. Never in production.' }),
  logLevel: setting({ env: 'TOKEND_LOG_LEVEL', default: 'info' as const, defaultText: 'info',
    parser: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    doc: 'pino log level. Logs are JSON lines on stdout; secrets are never logged at any level.' }),
  trustProxy: setting({ env: 'TOKEND_TRUST_PROXY', default: false, defaultText: 'false', parser: boolean(),
    doc: 'Take the client address from `X-Forwarded-For` (set when tokend runs behind a reverse proxy; the per-address login limit needs the real address).' }),
  bodyLimit: setting({ env: 'TOKEND_BODY_LIMIT', default: 65_536, defaultText: '65536', parser: integer(1024, 10_485_760),
    doc: 'Largest request body accepted, in bytes; larger bodies get 413 in the dialect\'s envelope.' }),
  maxHeaderSize: setting({ env: 'TOKEND_MAX_HEADER_SIZE', default: 16_384, defaultText: '16384', parser: integer(4096, 65_536),
    doc: 'Largest total size of request headers, in bytes; larger get 431 in the dialect\'s envelope.' }),

  chatappEnabled: setting({ env: 'TOKEND_CHATAPP_ENABLED', default: true, defaultText: 'true', parser: boolean(),
    doc: 'Serve the ChatApp dialect (`/v1/tokens…`).' }),
  chatappAccessTtl: setting({ env: 'TOKEND_CHATAPP_ACCESS_TTL', default: DAY, defaultText: '24h', parser: duration({ min: 1000 }),
    doc: 'Lifetime of a ChatApp access token (seed 000: 24 hours).' }),
  chatappRefreshTtl: setting({ env: 'TOKEND_CHATAPP_REFRESH_TTL', default: 14 * DAY, defaultText: '14d', parser: duration({ min: 1000 }),
    doc: 'Lifetime of a ChatApp refresh token (seed 000: 14 days).' }),
  chatappDailyMakeLimit: setting({ env: 'TOKEND_CHATAPP_DAILY_MAKE_LIMIT', default: 100, defaultText: '100', parser: integer(1, 1_000_000),
    doc: 'Successful `tokens.make` per UTC day per (normalised email, appId) (seed 000: 100). Refresh does not count.' }),

  sessionMaxLifetime: setting({ env: 'TOKEND_SESSION_MAX_LIFETIME', default: 90 * DAY, defaultText: '90d', parser: duration({ min: 60_000 }),
    doc: 'Absolute lifetime of a session (a chain of rotated pairs): no refresh extends a session past it (SPEC 4).' }),
  refreshReuseGrace: setting({ env: 'TOKEND_REFRESH_REUSE_GRACE', default: 10_000, defaultText: '10s', parser: duration({ max: 300_000 }),
    doc: 'A rotated refresh token presented again within this time is only rejected (a client retrying a lost response); later it is treated as stolen and the whole session is revoked (SPEC 4, RFC 9700 4.14).' }),

  loginMaxFailuresPerAccount: setting({ env: 'TOKEND_LOGIN_MAX_FAILURES_PER_ACCOUNT', default: 10, defaultText: '10', parser: integer(1, 1_000_000),
    doc: 'Failed logins per email within the failure window before further attempts for that email get 429. Only failures count.' }),
  loginMaxFailuresPerAddress: setting({ env: 'TOKEND_LOGIN_MAX_FAILURES_PER_ADDRESS', default: 100, defaultText: '100', parser: integer(1, 1_000_000),
    doc: 'Failed logins per client address within the failure window before further attempts from it get 429. Only failures count.' }),
  loginFailureWindow: setting({ env: 'TOKEND_LOGIN_FAILURE_WINDOW', default: 15 * 60_000, defaultText: '15m', parser: duration({ min: 1000, max: DAY }),
    doc: 'Fixed window over which failed logins are counted.' }),

  argon2MemoryKiB: setting({ env: 'TOKEND_ARGON2_MEMORY_KIB', default: 19_456, defaultText: '19456', parser: integer(19_456, 4_194_304),
    doc: 'argon2id memory cost in KiB for new password hashes (OWASP minimum: 19456 with t=2, p=1). Existing hashes keep their own parameters.' }),
  argon2Iterations: setting({ env: 'TOKEND_ARGON2_ITERATIONS', default: 2, defaultText: '2', parser: integer(2, 100),
    doc: 'argon2id time cost (iterations).' }),
  argon2Parallelism: setting({ env: 'TOKEND_ARGON2_PARALLELISM', default: 1, defaultText: '1', parser: integer(1, 16),
    doc: 'argon2id parallelism (lanes).' }),
} as const;

export type SettingName = keyof typeof SETTINGS;
export type Config = { -readonly [K in SettingName]: (typeof SETTINGS)[K]['default'] };
