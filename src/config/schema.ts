/**
 * Every setting tokend has: one table, each with its environment variable, its `serve` flag (if
 * any), its default and why it is what it is. docs/configuration.md is checked against this table
 * by test/config.test.ts, so the two cannot drift.
 */
import proxyAddr from '@fastify/proxy-addr';
import { parseNetworks } from '../core/events/address-guard.ts';
import { boolean, duration, integer, networkList, oneOf, proxyList, text, type Parser } from './parsers.ts';

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
  databasePoolSize: setting({ env: 'TOKEND_DATABASE_POOL_SIZE', default: 10, defaultText: '10', parser: integer(1, 1000),
    doc: 'PostgreSQL only: most connections one tokend process opens for requests (plus one for LISTEN and one that links the audit chain). Every node has its own pool, so nodes × (this + 2) must stay below the server\'s `max_connections` (see docs/operations.md).' }),
  databaseStatementTimeout: setting({ env: 'TOKEND_DATABASE_STATEMENT_TIMEOUT', default: 10_000, defaultText: '10s', parser: duration({ max: DAY }),
    doc: 'PostgreSQL only: the server-side `statement_timeout` of every connection of tokend\'s pool (set when the connection opens). A statement that runs or waits longer (for a row locked by a node that stalled mid-transaction) is cancelled, its transaction rolled back, and the request gets 503 with `Retry-After`. Migrations are not bound by it. `0`: no timeout (see docs/operations.md).' }),
  databaseIdleInTransactionTimeout: setting({ env: 'TOKEND_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT', default: 30_000, defaultText: '30s', parser: duration({ max: DAY }),
    doc: 'PostgreSQL only: the server-side `idle_in_transaction_session_timeout` of every connection of tokend\'s pool and of the migrations\' (set when the connection opens). The server ends the session of a node that stalls inside a transaction (stopped, event loop stuck) after this long: its transaction is rolled back and its row locks released. `0`: no timeout.' }),
  demo: setting({ env: 'TOKEND_DEMO', flag: '--demo', default: false, defaultText: 'false', parser: boolean(),
    doc: 'Seed the demo sandbox with published, well-known credentials, and put its records back as published at every start. Never in production.' }),
  logLevel: setting({ env: 'TOKEND_LOG_LEVEL', default: 'info' as const, defaultText: 'info',
    parser: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    doc: 'pino log level. Logs are JSON lines on stdout; secrets are never logged at any level. The access log is one line per request: at `info` for failed requests (4xx; 5xx at `warn`), at `debug` for successful ones, so `info` stays cheap on the hot path and `debug` logs every request.' }),
  trustedProxies: setting({ env: 'TOKEND_TRUSTED_PROXIES', default: [] as string[], defaultText: '(empty: no proxy is trusted)', parser: proxyList((entries) => proxyAddr.compile(entries)),
    doc: 'Addresses and CIDR ranges of the reverse proxies in front of tokend, comma-separated (`127.0.0.1`, `10.0.0.0/8`, `fd00::/8`, `loopback`). The client address (login limits, audit log, access log) is the right-most `X-Forwarded-For` entry that is not one of them; from any other peer the header is ignored, and a malformed one falls back to the peer\'s address. `X-Forwarded-Proto` and `X-Forwarded-Host` are read only from these. Empty: no header is trusted (see docs/operations.md).' }),
  headersTimeout: setting({ env: 'TOKEND_HEADERS_TIMEOUT', default: 10_000, defaultText: '10s', parser: duration({ min: 500, max: 600_000 }),
    doc: 'A request\'s headers must arrive within this time of its first byte; a slower client gets 408 and its connection is closed (slow-header attacks hold a connection for nothing). At most `TOKEND_REQUEST_TIMEOUT`.' }),
  requestTimeout: setting({ env: 'TOKEND_REQUEST_TIMEOUT', default: 30_000, defaultText: '30s', parser: duration({ min: 500, max: 3_600_000 }),
    doc: 'A whole request (headers and body) must arrive within this time; a slower client gets 408 in its dialect\'s envelope and its connection is closed. The time tokend takes to answer is not counted. Checked once a second, so a cut comes within a second after the bound.' }),
  keepAliveTimeout: setting({ env: 'TOKEND_KEEP_ALIVE_TIMEOUT', default: 5000, defaultText: '5s', parser: duration({ min: 100, max: 600_000 }),
    doc: 'An idle keep-alive connection is closed after this long without a request. A reverse proxy that keeps connections to tokend open must close them sooner (nginx: `keepalive_timeout` in the `upstream` block below this), or it may reuse one tokend is closing.' }),
  shutdownDrain: setting({ env: 'TOKEND_SHUTDOWN_DRAIN', default: 2000, defaultText: '2s', parser: duration({ max: 300_000 }),
    doc: 'On SIGTERM (or SIGINT), how long the node keeps serving while `/readyz` answers 503 and every answer closes its connection, so that load balancers and keep-alive clients move to other nodes before it stops accepting connections.' }),
  shutdownTimeout: setting({ env: 'TOKEND_SHUTDOWN_TIMEOUT', default: 10_000, defaultText: '10s', parser: duration({ min: 100, max: 600_000 }),
    doc: 'After it stops accepting connections, how long the node waits for requests in flight to finish before it closes their connections. Then it writes the batched usage counts and closes the database. Keep drain + timeout below your supervisor\'s kill timeout (`docker stop`: 10 s; Kubernetes: 30 s).' }),
  metrics: setting({ env: 'TOKEND_METRICS', default: true, defaultText: 'true', parser: boolean(),
    doc: 'Count requests, token checks, store latency and the process\'s resources for `GET /metrics` (Prometheus text format; docs/operations.md, "Monitoring"). `false`: nothing is counted and `/metrics` answers 404.' }),
  metricsToken: setting({ env: 'TOKEND_METRICS_TOKEN', default: '', defaultText: '(empty: /metrics from loopback only)', parser: text({ minLength: 32 }), secret: true,
    doc: 'A bearer token (any string of at least 32 characters) that lets Prometheus read `/metrics` from another address (`Authorization: Bearer …`). Without it, `/metrics` answers only clients on loopback (after `TOKEND_TRUSTED_PROXIES`) and 404 to others.' }),
  bodyLimit: setting({ env: 'TOKEND_BODY_LIMIT', default: 65_536, defaultText: '65536', parser: integer(1024, 10_485_760),
    doc: 'Largest request body accepted, in bytes; larger bodies get 413 in the dialect\'s envelope.' }),
  maxHeaderSize: setting({ env: 'TOKEND_MAX_HEADER_SIZE', default: 16_384, defaultText: '16384', parser: integer(4096, 65_536),
    doc: 'Largest total size of request headers, in bytes; larger get 431 in the dialect\'s envelope.' }),
  v8SemiSpaceMb: setting({ env: 'TOKEND_V8_SEMI_SPACE_MB', default: 8, defaultText: '8', parser: integer(0, 1024),
    doc: 'MiB of each of the two semi-spaces of V8\'s young generation (`node --max-semi-space-size`) that `tokend serve` starts with: `bin/tokend.js` replaces its own process with one that has the flag (same pid). V8\'s own sizing (`0`) derives them from the machine\'s memory (up to 64 MiB each on one with 24 GiB) and keeps them committed; the default bounds the memory a busy node holds without costing throughput (docs/operations.md, "Memory"). A `--max-semi-space-size` given in `NODE_OPTIONS` or on node\'s command line wins.' }),

  chatappEnabled: setting({ env: 'TOKEND_CHATAPP_ENABLED', default: true, defaultText: 'true', parser: boolean(),
    doc: 'Serve the ChatApp dialect (`/v1/tokens…`).' }),
  chatappAccessTtl: setting({ env: 'TOKEND_CHATAPP_ACCESS_TTL', default: DAY, defaultText: '24h', parser: duration({ min: 1000 }),
    doc: 'Lifetime of a ChatApp access token (24 hours, as ChatApp documents it).' }),
  chatappRefreshTtl: setting({ env: 'TOKEND_CHATAPP_REFRESH_TTL', default: 14 * DAY, defaultText: '14d', parser: duration({ min: 1000 }),
    doc: 'Lifetime of a ChatApp refresh token (14 days, as ChatApp documents it).' }),
  chatappDailyMakeLimit: setting({ env: 'TOKEND_CHATAPP_DAILY_MAKE_LIMIT', default: 100, defaultText: '100', parser: integer(1, 1_000_000),
    doc: 'Successful `tokens.make` per UTC day per (normalised email, appId) (100, as ChatApp documents it). Refresh does not count.' }),

  hosterEnabled: setting({ env: 'TOKEND_HOSTER_ENABLED', default: true, defaultText: 'true', parser: boolean(),
    doc: 'Serve the hoster.by dialect (`/service/account/create/token`, `/token/refresh`, `/token/info/access`, `/token/info/refresh`).' }),
  serviceAccessTtl: setting({ env: 'TOKEND_SERVICE_ACCESS_TTL', default: 3_600_000, defaultText: '1h', parser: duration({ min: 10_000, max: 7 * DAY }),
    doc: 'Lifetime of a service-account access token (a JWT). Resource servers that verify it locally with the JWKS cannot see a revocation before it expires, so keep it short.' }),
  serviceRefreshTtl: setting({ env: 'TOKEND_SERVICE_REFRESH_TTL', default: 30 * DAY, defaultText: '30d', parser: duration({ min: 60_000 }),
    doc: 'Lifetime of a service-account refresh token. Never later than the key\'s expiry, nor the session\'s absolute lifetime.' }),
  serviceDailyCreateLimit: setting({ env: 'TOKEND_SERVICE_DAILY_CREATE_LIMIT', default: 1000, defaultText: '1000', parser: integer(1, 1_000_000),
    doc: 'Successful token creations (`POST /service/account/create/token`) per UTC day per service-account key; over it, 429 with `Retry-After`. Refresh does not count.' }),
  jwtIssuer: setting({ env: 'TOKEND_JWT_ISSUER', default: 'tokend', defaultText: 'tokend', parser: text({ minLength: 1 }),
    doc: 'The `iss` of every access JWT, checked on every verification. Set it to tokend\'s public URL so resource servers can tell its tokens apart.' }),
  jwtAudience: setting({ env: 'TOKEND_JWT_AUDIENCE', default: 'tokend-api', defaultText: 'tokend-api', parser: text({ minLength: 1 }),
    doc: 'The `aud` of every access JWT, checked on every verification: the API the tokens are for.' }),
  jwtAlgorithm: setting({ env: 'TOKEND_JWT_ALGORITHM', default: 'EdDSA' as 'EdDSA' | 'ES256', defaultText: 'EdDSA', parser: oneOf(['EdDSA', 'ES256'] as const),
    doc: 'Algorithm of new signing keys: `EdDSA` (Ed25519) or `ES256` (P-256). Takes effect at the next `tokend signing-key rotate` (or the first key); existing keys keep theirs.' }),
  masterKey: setting({ env: 'TOKEND_MASTER_KEY', default: '', defaultText: '(empty: generated into <data dir>/master.key)', parser: text({ minLength: 32 }), secret: true,
    doc: 'Any string of at least 32 characters; the keys that encrypt the JWT signing keys at rest (AES-256-GCM) are derived from it (HKDF). Empty: one is generated into `<data dir>/master.key` (mode 0600) with a loud warning. Nodes that share a database must share it.' }),
  signingKeyPublishDelay: setting({ env: 'TOKEND_SIGNING_KEY_PUBLISH_DELAY', default: 3_600_000, defaultText: '1h', parser: duration({ max: 30 * DAY }),
    doc: 'After `tokend signing-key rotate`, the new key is published in `/.well-known/jwks.json` at once and signs only after this delay, so verifiers that cache the JWKS learn it first. With several nodes keep it above 1m (nodes re-read the key ring every 30 s).' }),

  invoiceboxEnabled: setting({ env: 'TOKEND_INVOICEBOX_ENABLED', default: true, defaultText: 'true', parser: boolean(),
    doc: 'Serve the Invoicebox dialect (`/v3/security/api/auth/auth`, `/l3/security/api/auth/auth`).' }),

  verifyCacheTtl: setting({ env: 'TOKEND_VERIFY_CACHE_TTL', default: 5000, defaultText: '5s', parser: duration({ max: 60_000 }),
    doc: 'How long a node may answer a token check from its memory. Revocation and rotation on the same node take effect at once; on other nodes (and after a CLI revoke beside a running server) within this bound. `0` turns the cache off.' }),
  verifyCacheSize: setting({ env: 'TOKEND_VERIFY_CACHE_SIZE', default: 100_000, defaultText: '100000', parser: integer(0, 10_000_000),
    doc: 'Most token checks a node keeps in its verification cache (least recently used go first).' }),
  adminToken: setting({ env: 'TOKEND_ADMIN_TOKEN', default: '', defaultText: '(empty: generated on first start)', parser: text({ minLength: 32 }), secret: true,
    doc: 'The operator\'s admin token (console, admin API, introspection). Empty: one (`tdm_…`) is generated on first start, stored as a SHA-256 hash and printed once by `serve`.' }),

  sessionMaxLifetime: setting({ env: 'TOKEND_SESSION_MAX_LIFETIME', default: 90 * DAY, defaultText: '90d', parser: duration({ min: 60_000 }),
    doc: 'Absolute lifetime of a session (a chain of rotated pairs): no refresh extends a session past it.' }),
  refreshReuseGrace: setting({ env: 'TOKEND_REFRESH_REUSE_GRACE', default: 10_000, defaultText: '10s', parser: duration({ max: 300_000 }),
    doc: 'A rotated refresh token presented again within this time is only rejected (a client retrying a lost response); later it is treated as stolen and the whole session is revoked (RFC 9700 4.14).' }),

  loginMaxFailuresPerAccount: setting({ env: 'TOKEND_LOGIN_MAX_FAILURES_PER_ACCOUNT', default: 10, defaultText: '10', parser: integer(1, 1_000_000),
    doc: 'Failed logins per email within the failure window before further attempts for that email get 429. Only failures count.' }),
  loginMaxFailuresPerAddress: setting({ env: 'TOKEND_LOGIN_MAX_FAILURES_PER_ADDRESS', default: 100, defaultText: '100', parser: integer(1, 1_000_000),
    doc: 'Failed logins per client address within the failure window before further attempts from it get 429. Only failures count.' }),
  loginFailureWindow: setting({ env: 'TOKEND_LOGIN_FAILURE_WINDOW', default: 15 * 60_000, defaultText: '15m', parser: duration({ min: 1000, max: DAY }),
    doc: 'Fixed window over which failed logins are counted.' }),
  credentialMaxFailures: setting({ env: 'TOKEND_CREDENTIAL_MAX_FAILURES', default: 20, defaultText: '20', parser: integer(1, 1_000_000),
    doc: 'Wrong admin tokens, operator keys, resource-server credentials, metrics tokens and password-reset links per client address within the credential failure window, counted together at every endpoint that takes them (admin API, introspection, revocation, `/metrics`); once reached, each of them answers 429 to that address, even for a right credential, until the window ends.' }),
  credentialFailureWindow: setting({ env: 'TOKEND_CREDENTIAL_FAILURE_WINDOW', default: 15 * 60_000, defaultText: '15m', parser: duration({ min: 1000, max: DAY }),
    doc: 'Fixed window over which wrong credentials are counted (TOKEND_CREDENTIAL_MAX_FAILURES).' }),

  consoleIdleTimeout: setting({ env: 'TOKEND_CONSOLE_IDLE_TIMEOUT', default: 30 * 60_000, defaultText: '30m', parser: duration({ min: 60_000, max: DAY }),
    doc: 'A console sign-in (personal cabinet or operator) ends after this long without a request.' }),
  consoleSessionLifetime: setting({ env: 'TOKEND_CONSOLE_SESSION_LIFETIME', default: 12 * 3_600_000, defaultText: '12h', parser: duration({ min: 60_000, max: 30 * DAY }),
    doc: 'Absolute lifetime of a console sign-in: activity never extends it past this; then sign in again.' }),

  // Policies on tokens (docs/policies.md): the instance's expiry rule for new API tokens and keys.
  policyMaxTokenLifetime: setting({ env: 'TOKEND_POLICY_MAX_TOKEN_LIFETIME', default: 0, defaultText: '0', parser: duration({ max: 100 * 365 * DAY }),
    doc: 'Longest lifetime a new API token or service-account key may have; a longer expiry is refused (400), and a rotation cuts the replacement to it. `0`: no maximum. An account can set a shorter one (docs/policies.md).' }),
  policyExpiryRequired: setting({ env: 'TOKEND_POLICY_EXPIRY_REQUIRED', default: false, defaultText: 'false', parser: boolean(),
    doc: 'New API tokens and service-account keys must have an expiry (400 without one). An account can require it on its own (docs/policies.md).' }),

  webhookTimeout: setting({ env: 'TOKEND_WEBHOOK_TIMEOUT', default: 10_000, defaultText: '10s', parser: duration({ min: 100, max: 120_000 }),
    doc: 'A webhook delivery (connecting, sending, and the receiver\'s answer) must finish within this time, or the attempt fails and is retried (docs/webhooks.md).' }),
  webhookRetryInitial: setting({ env: 'TOKEND_WEBHOOK_RETRY_INITIAL', default: 5000, defaultText: '5s', parser: duration({ min: 1, max: 3_600_000 }),
    doc: 'Delay before the second attempt of a failed webhook delivery; each further failure doubles it (with jitter), up to `TOKEND_WEBHOOK_RETRY_MAX_DELAY`.' }),
  webhookRetryMaxDelay: setting({ env: 'TOKEND_WEBHOOK_RETRY_MAX_DELAY', default: 3_600_000, defaultText: '1h', parser: duration({ min: 1, max: DAY }),
    doc: 'Longest delay between two attempts of a webhook delivery.' }),
  webhookRetryPeriod: setting({ env: 'TOKEND_WEBHOOK_RETRY_PERIOD', default: DAY, defaultText: '24h', parser: duration({ min: 1000, max: 30 * DAY }),
    doc: 'A webhook delivery is retried for this long after its event; the last attempt is made when it ends, then the delivery is marked failed (it can still be redelivered from the console or the API).' }),
  webhookPollInterval: setting({ env: 'TOKEND_WEBHOOK_POLL_INTERVAL', default: 1000, defaultText: '1s', parser: duration({ min: 10, max: 60_000 }),
    doc: 'How often `serve` looks for due webhook deliveries when the last look found none: the longest an event waits before its first attempt.' }),
  webhookAllowedNetworks: setting({ env: 'TOKEND_WEBHOOK_ALLOWED_NETWORKS', default: [] as string[], defaultText: '(empty: public addresses only)', parser: networkList(parseNetworks),
    doc: 'Addresses and CIDR ranges, comma-separated, that webhook URLs may point to although they are loopback, private, link-local, unique-local or otherwise not public (`10.20.0.0/16`, `127.0.0.1`). Without them such URLs are refused when registered (400) and at delivery, whatever their host name resolves to.' }),
  webhookHistory: setting({ env: 'TOKEND_WEBHOOK_HISTORY', default: 30 * DAY, defaultText: '30d', parser: duration({ min: 3_600_000, max: 3650 * DAY }),
    doc: 'Webhook deliveries that ended (delivered, or failed after their retry period) are kept this long after their event, with their attempts, for the console and redelivery; then `serve` deletes them. Pending deliveries are never deleted.' }),
  webhookExpiringWindow: setting({ env: 'TOKEND_WEBHOOK_EXPIRING_WINDOW', default: 7 * DAY, defaultText: '7d', parser: duration({ max: 365 * DAY }),
    doc: 'An API token that expires within this time is announced by an `api_token.expiring` webhook event, once per token and expiry (`serve` looks every 10 minutes). `0`: never.' }),
  secretScanningKeysFile: setting({ env: 'TOKEND_SECRET_SCANNING_KEYS_FILE', default: '', defaultText: '(empty: the report endpoint is off)', parser: text({ minLength: 1 }),
    doc: 'A JSON file with the public keys that sign secret-scanning reports, in GitHub\'s format (`{"public_keys":[{"key_identifier","key"}]}`, as `GET https://api.github.com/meta/public_keys/secret_scanning` answers). Set, `POST /secret-scanning/report` accepts reports signed by one of them (docs/secret-scanning.md); empty, it answers 404. Read at start.' }),
  secretScanningAction: setting({ env: 'TOKEND_SECRET_SCANNING_ACTION', default: 'revoke' as 'revoke' | 'notify', defaultText: 'revoke', parser: oneOf(['revoke', 'notify'] as const),
    doc: 'What a reported tokend secret that this instance issued does: `revoke` it at once (and announce it), or only `notify` (the audit entry and the `secret.leaked` webhook).' }),
  revocationStreamPoll: setting({ env: 'TOKEND_REVOCATION_STREAM_POLL', default: 250, defaultText: '250ms', parser: duration({ min: 10, max: 10_000 }),
    doc: 'How often each open revocation stream (`GET /revocations/stream`) looks for new revocations: about the longest a resource server verifying JWTs locally takes to learn one (docs/revocations.md). One indexed read per stream and interval.' }),
  auditRetention: setting({ env: 'TOKEND_AUDIT_RETENTION', default: 0, defaultText: '0', parser: duration({ max: 100 * 365 * DAY }),
    doc: 'Audit entries older than this are deleted (checked every 10 minutes by `serve`); a checkpoint entry records where the kept hash chain starts, so `tokend audit verify` still proves it. `0`: keep every entry.' }),

  argon2MemoryKiB: setting({ env: 'TOKEND_ARGON2_MEMORY_KIB', default: 19_456, defaultText: '19456', parser: integer(19_456, 4_194_304),
    doc: 'argon2id memory cost in KiB for new password hashes (OWASP minimum: 19456 with t=2, p=1). Existing hashes keep their own parameters.' }),
  argon2Iterations: setting({ env: 'TOKEND_ARGON2_ITERATIONS', default: 2, defaultText: '2', parser: integer(2, 100),
    doc: 'argon2id time cost (iterations).' }),
  argon2Parallelism: setting({ env: 'TOKEND_ARGON2_PARALLELISM', default: 1, defaultText: '1', parser: integer(1, 16),
    doc: 'argon2id parallelism (lanes).' }),
} as const;

export type SettingName = keyof typeof SETTINGS;
export type Config = { -readonly [K in SettingName]: (typeof SETTINGS)[K]['default'] };
