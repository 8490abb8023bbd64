/**
 * `tokend api-token create|rotate|revoke|list` and `tokend resource-server create|list|revoke`
 * (the credentials resource servers use for introspection and revocation).
 */
import type { Command } from 'commander';
import { formatDuration, duration } from '../config/parsers.ts';
import { API_TOKEN_FORMATS, MAX_ROTATION_GRACE_MS } from '../core/api-tokens.ts';
import type { ApiToken, ApiTokenFormat } from '../core/model.ts';
import { parseId } from './accounts.ts';
import { CLI_AUDIT, printResult, UsageError, withServices, type CliIO, type StoreFlags } from './context.ts';

function parseDuration(raw: string, flag: string, max: number): number {
  const parsed = duration({ max }).parse(raw);
  if (typeof parsed === 'object') throw new UsageError(`${flag} ${parsed.error}, got ${JSON.stringify(raw)}`);
  return parsed;
}

function parseFormat(raw: string | undefined): ApiTokenFormat {
  const format = (raw ?? 'v3') as ApiTokenFormat;
  if (!API_TOKEN_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${API_TOKEN_FORMATS.join(', ')}, got ${JSON.stringify(raw)}`);
  return format;
}

const SHOWN_ONCE = '  (shown once: tokend keeps only its SHA-256, so store it now)';

function when(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

function tokenStatus(t: ApiToken, now: number): string {
  if (t.revokedAt !== null) return 'revoked';
  if (t.expiresAt !== null && t.expiresAt <= now) return t.replacedBy ? 'replaced' : 'expired';
  if (t.replacedBy) return `replaced, valid until ${when(t.expiresAt)}`;
  return 'active';
}

function storeOptions(cmd: Command): Command {
  return cmd.option('--data-dir <dir>', 'data directory (TOKEND_DATA_DIR)').option('--database-url <url>', 'database URL (TOKEND_DATABASE_URL)');
}

export function registerApiTokenCommands(program: Command, io: CliIO): void {
  const group = program.command('api-token').description('Manage organisation API tokens (v3, l3, native)');

  storeOptions(
    group
      .command('create')
      .description('Create an API token for an account; the token is printed once')
      .requiredOption('--account <id>', 'numeric account id')
      .option('--format <format>', 'v3 (32 hex), l3 (<account id>-API:<32 hex>) or native (tdo_…)', 'v3')
      .option('--label <label>', 'what the token is for (shown in lists)')
      .option('--expires-in <duration>', 'lifetime, e.g. 90d (default: no expiry)')
      .option('--json', 'print one JSON object: {"id","token","format"}'),
  ).action(async (o: { account: string; format?: string; label?: string; expiresIn?: string; json?: boolean } & StoreFlags) => {
    const accountId = parseId(o.account, '--account');
    const format = parseFormat(o.format);
    const lifetime = o.expiresIn === undefined ? null : parseDuration(o.expiresIn, '--expires-in', 10 * 365 * 86_400_000);
    await withServices(io, o, async ({ core }) => {
      const expiresAt = lifetime === null ? null : core.clock.now() + lifetime;
      const { token, apiToken } = await core.apiTokens.create({ accountId, format, label: o.label ?? null, expiresAt }, CLI_AUDIT);
      printResult(io, o.json, { id: apiToken.id, token, format }, [
        `API token ${apiToken.id} created for account ${accountId} (${format})`,
        `  token:   ${token}`,
        SHOWN_ONCE,
        `  expires: ${when(apiToken.expiresAt)}`,
      ]);
    });
  });

  storeOptions(
    group
      .command('rotate')
      .description('Replace an API token with a new one; with --grace the old one keeps working that long')
      .argument('<tokenId>', 'id of the API token to rotate')
      .option('--grace <duration>', `how long the old token stays valid, e.g. 24h (default 0: it stops at once; at most ${formatDuration(MAX_ROTATION_GRACE_MS)})`)
      .option('--json', 'print one JSON object: {"id","token","format"}'),
  ).action(async (tokenId: string, o: { grace?: string; json?: boolean } & StoreFlags) => {
    const graceMs = o.grace === undefined ? 0 : parseDuration(o.grace, '--grace', MAX_ROTATION_GRACE_MS);
    await withServices(io, o, async ({ core }) => {
      const outcome = await core.apiTokens.rotate(tokenId, { graceMs }, CLI_AUDIT);
      if (!outcome.ok) {
        throw new UsageError(outcome.code === 'not_found' ? `no API token ${tokenId}` : `API token ${tokenId} is already revoked, replaced or expired`);
      }
      const { created, previous } = outcome;
      printResult(io, o.json, { id: created.apiToken.id, token: created.token, format: created.apiToken.format }, [
        `API token ${previous.id} rotated: the new token is ${created.apiToken.id}`,
        `  token:   ${created.token}`,
        SHOWN_ONCE,
        graceMs > 0 ? `  the old token keeps working until ${when(previous.expiresAt)}` : '  the old token no longer works',
      ]);
    });
  });

  storeOptions(
    group
      .command('revoke')
      .description('Revoke an API token (takes effect at once on this node, within TOKEND_VERIFY_CACHE_TTL on others)')
      .argument('<tokenId>', 'id of the API token to revoke'),
  ).action(async (tokenId: string, o: StoreFlags) => {
    await withServices(io, o, async ({ core }) => {
      const existing = await core.apiTokens.get(tokenId);
      if (!existing) throw new UsageError(`no API token ${tokenId}`);
      const done = await core.apiTokens.revoke(tokenId, CLI_AUDIT);
      io.out(done ? `API token ${tokenId} revoked` : `API token ${tokenId} was already revoked`);
    });
  });

  storeOptions(
    group
      .command('list')
      .description('List the API tokens of an account (hints only, never the tokens)')
      .requiredOption('--account <id>', 'numeric account id')
      .option('--json', 'print one JSON object: {"tokens":[…]}'),
  ).action(async (o: { account: string; json?: boolean } & StoreFlags) => {
    const accountId = parseId(o.account, '--account');
    await withServices(io, o, async ({ core }) => {
      const tokens = await core.apiTokens.listByAccount(accountId);
      const now = core.clock.now();
      printResult(
        io,
        o.json,
        { tokens },
        tokens.length === 0
          ? [`account ${accountId} has no API tokens`]
          : tokens.map(
              (t) =>
                `${t.id}  ${t.format.padEnd(6)} ${t.hint}  ${t.label ?? ''}  created ${when(t.createdAt)}  last used ${when(t.lastUsedAt)}  ` +
                `expires ${when(t.expiresAt)}  ${tokenStatus(t, now)}`,
            ),
      );
    });
  });

  const servers = program.command('resource-server').description('Manage resource-server credentials (introspection and revocation callers)');

  storeOptions(
    servers
      .command('create')
      .description('Create a credential a resource server sends as `Authorization: Bearer …` to /oauth2/introspect and /oauth2/revoke')
      .requiredOption('--name <name>', 'which API or proxy uses it')
      .option('--json', 'print one JSON object: {"id","name","token"}'),
  ).action(async (o: { name: string; json?: boolean } & StoreFlags) => {
    await withServices(io, o, async ({ core }) => {
      const { server, token } = await core.callers.createResourceServer(o.name, CLI_AUDIT);
      printResult(io, o.json, { id: server.id, name: server.name, token }, [
        `resource server ${server.id} (${server.name}) created`,
        `  credential: ${token}`,
        SHOWN_ONCE,
      ]);
    });
  });

  storeOptions(servers.command('list').description('List resource-server credentials (hints only)').option('--json', 'print one JSON object: {"servers":[…]}')).action(
    async (o: { json?: boolean } & StoreFlags) => {
      await withServices(io, o, async ({ core }) => {
        const list = await core.callers.listResourceServers();
        printResult(
          io,
          o.json,
          { servers: list },
          list.length === 0
            ? ['no resource servers']
            : list.map((s) => `${s.id}  ${s.hint}  ${s.name}  created ${when(s.createdAt)}  ${s.revokedAt === null ? 'active' : 'revoked'}`),
        );
      });
    },
  );

  storeOptions(servers.command('revoke').description('Revoke a resource-server credential').argument('<id>', 'resource server id')).action(
    async (id: string, o: StoreFlags) => {
      await withServices(io, o, async ({ core }) => {
        const done = await core.callers.revokeResourceServer(id, CLI_AUDIT);
        if (!done) throw new UsageError(`no active resource server ${id}`);
        io.out(`resource server ${id} revoked`);
      });
    },
  );
}
