/**
 * `tokend service-account …`, `tokend key …` and `tokend signing-key …`: service accounts
 * and their Access Key / Secret Key pairs (the hoster.by scheme), and the JWT signing key ring.
 */
import type { Command } from 'commander';
import { duration } from '../config/parsers.ts';
import { toUnixSeconds } from '../core/clock.ts';
import type { ServiceKey } from '../core/model.ts';
import type { SigningKeyInfo } from '../signing/key-ring.ts';
import { masterKeyWarning, resolveMasterKey } from '../signing/master-key.ts';
import { parseId } from './accounts.ts';
import { CLI_AUDIT, printResult, UsageError, withServices, type CliIO, type StoreFlags } from './context.ts';

const MAX_KEY_LIFETIME_MS = 10 * 365 * 86_400_000;

function storeOptions(cmd: Command): Command {
  return cmd.option('--data-dir <dir>', 'data directory (TOKEND_DATA_DIR)').option('--database-url <url>', 'database URL (TOKEND_DATABASE_URL)');
}

function when(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

function parseActions(raw: string): string[] {
  const actions = raw.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
  if (actions.length === 0) throw new UsageError('--actions must list at least one action, e.g. --actions dns_orders_list,dns_records_edit');
  return actions;
}

function keyStatus(k: ServiceKey, now: number): string {
  if (k.revokedAt !== null) return 'revoked';
  if (k.expiresAt !== null && k.expiresAt <= now) return 'expired';
  return 'active';
}

function describeSigningKey(k: SigningKeyInfo): string {
  const tail =
    k.state === 'pending'
      ? `signs from ${when(k.activatesAt)}`
      : k.state === 'active'
        ? 'signs now'
        : `stopped signing ${when(k.signsUntil)}, published until ${when(k.publishedUntil)}`;
  return `${k.kid}  ${k.alg.padEnd(5)}  ${k.state.padEnd(8)}  ${tail}`;
}

export function registerServiceAccountCommands(program: Command, io: CliIO): void {
  const sa = program.command('service-account').description('Manage service accounts (the hoster.by scheme: Access Key + Secret Key -> JWT)');

  storeOptions(
    sa
      .command('create')
      .description('Create a service account for an account, with the actions its tokens allow')
      .requiredOption('--account <id>', 'numeric account id')
      .requiredOption('--name <name>', 'what the service account is for')
      .requiredOption('--actions <list>', 'comma-separated allowed actions, e.g. dns_orders_list,dns_records_edit')
      .option('--json', 'print one JSON object: {"id"}'),
  ).action(async (o: { account: string; name: string; actions: string; json?: boolean } & StoreFlags) => {
    const accountId = parseId(o.account, '--account');
    const actions = parseActions(o.actions);
    await withServices(io, o, async ({ core }) => {
      const created = await core.serviceAccounts.create({ accountId, name: o.name, actions }, CLI_AUDIT);
      printResult(io, o.json, { id: created.id }, [
        `service account ${created.id} created for account ${accountId}`,
        `  name:    ${created.name}`,
        `  actions: ${created.actions.join(' ')}`,
        `  next:    tokend key create --service-account ${created.id}`,
      ]);
    });
  });

  storeOptions(
    sa
      .command('list')
      .description('List the service accounts of an account')
      .requiredOption('--account <id>', 'numeric account id')
      .option('--json', 'print one JSON object: {"serviceAccounts":[…]}'),
  ).action(async (o: { account: string; json?: boolean } & StoreFlags) => {
    const accountId = parseId(o.account, '--account');
    await withServices(io, o, async ({ core }) => {
      const list = await core.serviceAccounts.listByAccount(accountId);
      printResult(
        io,
        o.json,
        { serviceAccounts: list },
        list.length === 0
          ? [`account ${accountId} has no service accounts`]
          : list.map((s) => `${s.id}  ${s.status.padEnd(8)}  ${s.name}  actions: ${s.actions.join(' ')}  last used ${when(s.lastUsedAt)}`),
      );
    });
  });

  for (const [name, description] of [
    ['disable', 'Disable a service account: its keys stop creating tokens and every session they started is revoked'],
    ['enable', 'Enable a disabled service account again (revoked sessions stay revoked)'],
  ] as const) {
    storeOptions(sa.command(name).description(description).argument('<id>', 'service account id')).action(async (rawId: string, o: StoreFlags) => {
      const id = parseId(rawId, 'service account id');
      await withServices(io, o, async ({ core }) => {
        const changed = name === 'disable' ? await core.serviceAccounts.disable(id, CLI_AUDIT) : await core.serviceAccounts.enable(id, CLI_AUDIT);
        io.out(changed ? `service account ${id} ${name}d` : `service account ${id} was already ${name}d`);
      });
    });
  }

  const key = program.command('key').description('Manage service-account keys (Access Key + Secret Key)');

  storeOptions(
    key
      .command('create')
      .description('Create an Access Key / Secret Key pair for a service account; the Secret Key is printed once')
      .requiredOption('--service-account <id>', 'service account id')
      .option('--expires-in <duration>', 'lifetime, e.g. 90d (default: no expiry); tokens never outlive the key')
      .option('--json', 'print one JSON object: {"accessKey","secretKey","expiresAt"} (expiresAt: unix seconds or null)'),
  ).action(async (o: { serviceAccount: string; expiresIn?: string; json?: boolean } & StoreFlags) => {
    const serviceAccountId = parseId(o.serviceAccount, '--service-account');
    let lifetime: number | null = null;
    if (o.expiresIn !== undefined) {
      const parsed = duration({ min: 60_000, max: MAX_KEY_LIFETIME_MS }).parse(o.expiresIn);
      if (typeof parsed === 'object') throw new UsageError(`--expires-in ${parsed.error}, got ${JSON.stringify(o.expiresIn)}`);
      lifetime = parsed;
    }
    await withServices(io, o, async ({ core }) => {
      const expiresAt = lifetime === null ? null : core.clock.now() + lifetime;
      const created = await core.serviceAccounts.createKey({ serviceAccountId, expiresAt }, CLI_AUDIT);
      const expiresAtS = created.key.expiresAt === null ? null : toUnixSeconds(created.key.expiresAt);
      printResult(io, o.json, { accessKey: created.key.accessKey, secretKey: created.secretKey, expiresAt: expiresAtS }, [
        `key ${created.key.id} created for service account ${serviceAccountId}`,
        `  Access Key: ${created.key.accessKey}`,
        `  Secret Key: ${created.secretKey}`,
        '  (the Secret Key is shown once: tokend keeps only its SHA-256, so store it now)',
        `  expires:    ${when(created.key.expiresAt)}`,
      ]);
    });
  });

  storeOptions(
    key
      .command('list')
      .description('List the keys of a service account (Secret Key hints only)')
      .requiredOption('--service-account <id>', 'service account id')
      .option('--json', 'print one JSON object: {"keys":[…]}'),
  ).action(async (o: { serviceAccount: string; json?: boolean } & StoreFlags) => {
    const serviceAccountId = parseId(o.serviceAccount, '--service-account');
    await withServices(io, o, async ({ core }) => {
      const keys = await core.serviceAccounts.listKeys(serviceAccountId);
      const now = core.clock.now();
      printResult(
        io,
        o.json,
        { keys },
        keys.length === 0
          ? [`service account ${serviceAccountId} has no keys`]
          : keys.map(
              (k) =>
                `${k.id}  ${k.accessKey}  ${k.secretHint}  created ${when(k.createdAt)}  last used ${when(k.lastUsedAt)}  ` +
                `expires ${when(k.expiresAt)}  ${keyStatus(k, now)}`,
            ),
      );
    });
  });

  storeOptions(
    key
      .command('revoke')
      .description('Revoke a key: it stops creating tokens and every session it started is revoked')
      .argument('<keyId>', 'key id (see `tokend key list`)'),
  ).action(async (rawId: string, o: StoreFlags) => {
    const keyId = parseId(rawId, 'key id');
    await withServices(io, o, async ({ core }) => {
      const done = await core.serviceAccounts.revokeKey(keyId, CLI_AUDIT);
      io.out(done ? `key ${keyId} revoked` : `key ${keyId} was already revoked`);
    });
  });

  const signing = program.command('signing-key').description('Manage the JWT signing keys (/.well-known/jwks.json)');

  storeOptions(
    signing
      .command('rotate')
      .description('Add a new signing key: published at once, signing after TOKEND_SIGNING_KEY_PUBLISH_DELAY; the old key stays published until its last token expires')
      .option('--json', 'print one JSON object: {"kid","alg","activatesAt","previousKid","previousPublishedUntil"} (times: unix seconds)'),
  ).action(async (o: { json?: boolean } & StoreFlags) => {
    await withServices(io, o, async ({ core, config }) => {
      // Said before anything is sealed: a key sealed under a master key the server does not have is useless to it.
      const warning = masterKeyWarning(resolveMasterKey(config));
      if (warning) io.err(`tokend: warning: ${warning}`);
      const { key: created, previous, deleted } = await core.signing.rotate(CLI_AUDIT);
      printResult(
        io,
        o.json,
        {
          kid: created.kid,
          alg: created.alg,
          activatesAt: toUnixSeconds(created.activatesAt),
          previousKid: previous?.kid ?? null,
          previousPublishedUntil: previous?.publishedUntil == null ? null : toUnixSeconds(previous.publishedUntil),
        },
        [
          `signing key ${created.kid} (${created.alg}) added: published now, signs from ${when(created.activatesAt)}`,
          previous
            ? `  previous key ${previous.kid} signs until ${when(previous.signsUntil)} and stays published until ${when(previous.publishedUntil)}`
            : '  (the first key of the ring)',
          ...(deleted.length ? [`  deleted retired keys: ${deleted.join(', ')}`] : []),
        ],
      );
    });
  });

  storeOptions(signing.command('list').description('List the signing keys and where each stands').option('--json', 'print one JSON object: {"keys":[…]}')).action(
    async (o: { json?: boolean } & StoreFlags) => {
      await withServices(io, o, async ({ core }) => {
        const keys = await core.signing.list();
        printResult(io, o.json, { keys }, keys.length === 0 ? ['no signing keys yet (the first is created when the first token is signed)'] : keys.map(describeSigningKey));
      });
    },
  );
}
