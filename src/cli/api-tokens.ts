/**
 * `tokend api-token create|list|show|rotate|revoke` (organisation API tokens) and `tokend
 * resource-server create|list|revoke` (the credentials resource servers use for introspection and
 * revocation; on the database only: the admin API has no route for them).
 */
import { Option, type Command } from 'commander';
import { formatDuration } from '../config/parsers.ts';
import { API_TOKEN_FORMATS, MAX_ROTATION_GRACE_MS } from '../core/api-tokens.ts';
import type { ApiTokenFormat, ResourceServer } from '../core/model.ts';
import { parseId, parseTextId } from './args.ts';
import { CLI_AUDIT, NotFoundError, UsageError, type CliIO } from './context.ts';
import { durationText } from './duration.ts';
import type { ApiToken } from './operator.ts';
import { iso, printer, type Column } from './output.ts';
import { idempotencyOption, showCommand, storeOptions, targetOptions, withExistingDatabase, withOperator, type StoreFlags, type TargetFlags } from './target.ts';

/** An API token's longest life: ten years. */
const MAX_TOKEN_LIFETIME_MS = 10 * 365 * 86_400_000;
const STATUSES = ['active', 'grace', 'replaced', 'revoked', 'expired'] as const;

const SHOWN_ONCE = '  (shown once: tokend keeps only its SHA-256, so store it now)';

function parseFormat(raw: string | undefined): ApiTokenFormat {
  const format = (raw ?? 'v3') as ApiTokenFormat;
  if (!API_TOKEN_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${API_TOKEN_FORMATS.join(', ')}, got ${JSON.stringify(raw)}`);
  return format;
}

const TOKEN_COLUMNS: readonly Column<ApiToken>[] = [
  { header: 'ID', value: (t) => t.id },
  { header: 'FORMAT', value: (t) => t.format },
  { header: 'HINT', value: (t) => t.hint },
  { header: 'STATUS', value: (t) => t.status },
  { header: 'CREATED', value: (t) => iso(t.createdAt) },
  { header: 'LAST USED', value: (t) => iso(t.lastUsedAt) },
  { header: 'EXPIRES', value: (t) => iso(t.expiresAt) },
  { header: 'LABEL', value: (t) => t.label ?? '' },
];

const SERVER_COLUMNS: readonly Column<ResourceServer>[] = [
  { header: 'ID', value: (s) => s.id },
  { header: 'HINT', value: (s) => s.hint },
  { header: 'STATUS', value: (s) => (s.revokedAt === null ? 'active' : 'revoked') },
  { header: 'CREATED', value: (s) => iso(s.createdAt) },
  { header: 'NAME', value: (s) => s.name },
];

function tokenLines(t: ApiToken): string[] {
  return [
    `API token ${t.id}`,
    `  format:    ${t.format}`,
    `  hint:      ${t.hint}`,
    `  label:     ${t.label ?? '-'}`,
    `  status:    ${t.status}`,
    `  created:   ${iso(t.createdAt)}`,
    `  last used: ${iso(t.lastUsedAt)}`,
    `  expires:   ${iso(t.expiresAt)}`,
    ...(t.revokedAt !== null ? [`  revoked:   ${iso(t.revokedAt)}`] : []),
    ...(t.replacedBy !== null ? [`  replaced by: ${t.replacedBy}`] : []),
  ];
}

/** resource-server commands open the database: the admin API has no route for these credentials. */
function localOptions(cmd: Command): Command {
  return storeOptions(cmd).addOption(new Option('--url <url>').hideHelp());
}

function localOnly(io: CliIO, o: StoreFlags & { url?: string }, command: string): void {
  if (o.url !== undefined || io.env.TOKEND_URL?.trim()) {
    throw new UsageError(`\`tokend ${command}\` works only on the database (the admin API has no route for resource-server credentials): run it on the tokend host without --url and TOKEND_URL`);
  }
}

export function registerApiTokenCommands(program: Command, io: CliIO): void {
  const group = program.command('api-token').description('Manage organisation API tokens (v3, l3, native)');

  idempotencyOption(
    targetOptions(
      group
        .command('create')
        .description('Create an API token for an account; the token is printed once')
        .requiredOption('--account <id>', 'account id')
        .option('--format <format>', 'v3 (32 hex), l3 (<account id>-API:<32 hex>) or native (tdo_…)', 'v3')
        .option('--label <label>', 'what the token is for (shown in lists)')
        .option('--expires-in <duration>', 'lifetime, e.g. 90d (default: no expiry)'),
      '{"id","token","format"}',
    ),
  ).action(async (o: { account: string; format?: string; label?: string; expiresIn?: string } & TargetFlags) => {
    const accountId = parseId(o.account, '--account');
    const format = parseFormat(o.format);
    const expiresIn = o.expiresIn === undefined ? undefined : durationText(o.expiresIn, '--expires-in', { min: 1000, max: MAX_TOKEN_LIFETIME_MS });
    await withOperator(io, o, async (op, out) => {
      const created = await op.createApiToken(accountId, {
        format,
        ...(o.label !== undefined ? { label: o.label } : {}),
        ...(expiresIn !== undefined ? { expiresIn } : {}),
      });
      out.result({ id: created.id, token: created.token, format: created.format }, [
        `API token created for account ${accountId} (${created.format})`,
        `  id:      ${created.id}`,
        `  token:   ${created.token}`,
        SHOWN_ONCE,
        `  expires: ${iso(created.expiresAt)}`,
      ]);
    });
  });

  targetOptions(
    group
      .command('list')
      .description('List the API tokens of an account (hints only, never the tokens)')
      .requiredOption('--account <id>', 'account id')
      .option('--status <status>', `only tokens in this state: ${STATUSES.join(', ')}`),
    '{"tokens":[…]}',
  ).action(async (o: { account: string; status?: string } & TargetFlags) => {
    const accountId = parseId(o.account, '--account');
    if (o.status !== undefined && !(STATUSES as readonly string[]).includes(o.status)) {
      throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, got ${JSON.stringify(o.status)}`);
    }
    await withOperator(io, o, async (op, out) => {
      const tokens = await op.listApiTokens(accountId, o.status);
      out.table('tokens', tokens, TOKEN_COLUMNS, { empty: `account ${accountId} has no ${o.status ? `${o.status} ` : ''}API tokens` });
    });
  });

  showCommand(io, group, {
    description: 'Show one API token (its hint, never the token)',
    argument: 'tokenId',
    label: 'API token id',
    json: 'the API token',
    parse: parseTextId,
    get: (op, id) => op.getApiToken(id),
    lines: tokenLines,
  });

  targetOptions(
    group
      .command('rotate')
      .description('Replace an API token with a new one (printed once); with --grace the old one keeps working that long')
      .argument('<tokenId>', 'id of the API token to rotate')
      .option('--grace <duration>', `how long the old token stays valid, e.g. 24h (default: it stops at once; at most ${formatDuration(MAX_ROTATION_GRACE_MS)})`),
    '{"id","token","format"} of the new token',
  ).action(async (rawId: string, o: { grace?: string } & TargetFlags) => {
    const tokenId = parseTextId(rawId, 'API token id');
    const grace = o.grace === undefined ? undefined : durationText(o.grace, '--grace', { max: MAX_ROTATION_GRACE_MS });
    await withOperator(io, o, async (op, out) => {
      const rotated = await op.rotateApiToken(tokenId, grace);
      out.result({ id: rotated.id, token: rotated.token, format: rotated.format }, [
        `API token ${tokenId} rotated; the new token:`,
        `  id:      ${rotated.id}`,
        `  token:   ${rotated.token}`,
        SHOWN_ONCE,
        `  expires: ${iso(rotated.expiresAt)}`,
        rotated.previousExpiresAt !== null ? `  the old token keeps working until ${iso(rotated.previousExpiresAt)}` : '  the old token no longer works',
      ]);
    });
  });

  targetOptions(
    group
      .command('revoke')
      .description('Revoke an API token (at once on the node that revokes it, within TOKEND_VERIFY_CACHE_TTL on the others)')
      .argument('<tokenId>', 'id of the API token to revoke'),
    '{"id","revoked":true}',
  ).action(async (rawId: string, o: TargetFlags) => {
    const tokenId = parseTextId(rawId, 'API token id');
    await withOperator(io, o, async (op, out) => {
      const { changed } = await op.revokeApiToken(tokenId);
      out.result({ id: tokenId, revoked: true }, [changed === false ? `API token ${tokenId} was already revoked` : `API token ${tokenId} revoked`]);
    });
  });

  const servers = program.command('resource-server').description('Manage resource-server credentials (introspection and revocation callers); on the database only');

  localOptions(
    servers
      .command('create')
      .description('Create a credential a resource server sends as `Authorization: Bearer …` to /oauth2/introspect and /oauth2/revoke')
      .requiredOption('--name <name>', 'which API or proxy uses it')
      .option('--json', 'print one JSON object: {"id","name","token"}'),
  ).action(async (o: { name: string; json?: boolean } & StoreFlags) => {
    localOnly(io, o, 'resource-server create');
    const out = printer(io, o.json);
    await withExistingDatabase(io, o, async ({ core }) => {
      const { server, token } = await core.callers.createResourceServer(o.name, CLI_AUDIT);
      out.result({ id: server.id, name: server.name, token }, [`resource server ${server.id} (${server.name}) created`, `  credential: ${token}`, SHOWN_ONCE]);
    });
  });

  localOptions(servers.command('list').description('List resource-server credentials (hints only)').option('--json', 'print one JSON object: {"servers":[…]}')).action(
    async (o: { json?: boolean } & StoreFlags) => {
      localOnly(io, o, 'resource-server list');
      const out = printer(io, o.json);
      await withExistingDatabase(io, o, async ({ core }) => {
        out.table('servers', await core.callers.listResourceServers(), SERVER_COLUMNS, { empty: 'no resource servers' });
      });
    },
  );

  localOptions(
    servers.command('revoke').description('Revoke a resource-server credential').argument('<id>', 'resource server id').option('--json', 'print one JSON object: {"id","revoked":true}'),
  ).action(async (rawId: string, o: { json?: boolean } & StoreFlags) => {
    localOnly(io, o, 'resource-server revoke');
    const id = parseTextId(rawId, 'resource server id');
    const out = printer(io, o.json);
    await withExistingDatabase(io, o, async ({ core }) => {
      if (!(await core.callers.revokeResourceServer(id, CLI_AUDIT))) throw new NotFoundError(`no active resource server ${id}`);
      out.result({ id, revoked: true }, [`resource server ${id} revoked`]);
    });
  });
}
