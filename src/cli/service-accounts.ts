/**
 * `tokend service-account …`, `tokend key …` and `tokend signing-key …`: service accounts and their
 * Access Key / Secret Key pairs (the hoster.by scheme), and the JWT signing key ring.
 */
import type { Command } from 'commander';
import { parseId, parseList } from './args.ts';
import { UsageError, type CliIO } from './context.ts';
import { durationText } from './duration.ts';
import type { ServiceAccount, ServiceKey, SigningKey } from './operator.ts';
import { iso, type Column } from './output.ts';
import { idempotencyOption, showCommand, statusCommands, targetOptions, withOperator, type TargetFlags } from './target.ts';

/** A key's longest life: ten years, as an API token's. */
const MAX_KEY_LIFETIME_MS = 10 * 365 * 86_400_000;

const ACTIONS_EXAMPLE = 'dns_orders_list,dns_records_edit';

const SERVICE_ACCOUNT_COLUMNS: readonly Column<ServiceAccount>[] = [
  { header: 'ID', value: (s) => String(s.id) },
  { header: 'STATUS', value: (s) => s.status },
  { header: 'NAME', value: (s) => s.name },
  { header: 'KEYS', value: (s) => String(s.keys.filter((k) => k.status === 'active').length) },
  { header: 'CREATED', value: (s) => iso(s.createdAt) },
  { header: 'LAST USED', value: (s) => iso(s.lastUsedAt) },
  { header: 'ACTIONS', value: (s) => s.actions.join(' ') },
];

const KEY_COLUMNS: readonly Column<ServiceKey>[] = [
  { header: 'KEY ID', value: (k) => String(k.id) },
  { header: 'ACCESS KEY', value: (k) => k.accessKey },
  { header: 'SECRET KEY', value: (k) => k.secretHint },
  { header: 'STATUS', value: (k) => k.status },
  { header: 'CREATED', value: (k) => iso(k.createdAt) },
  { header: 'LAST USED', value: (k) => iso(k.lastUsedAt) },
  { header: 'EXPIRES', value: (k) => iso(k.expiresAt) },
];

const SIGNING_KEY_COLUMNS: readonly Column<SigningKey>[] = [
  { header: 'KID', value: (k) => k.kid },
  { header: 'ALG', value: (k) => k.alg },
  { header: 'STATE', value: (k) => k.state },
  { header: 'SIGNS FROM', value: (k) => iso(k.activatesAt) },
  { header: 'SIGNS UNTIL', value: (k) => iso(k.signsUntil) },
  { header: 'PUBLISHED UNTIL', value: (k) => iso(k.publishedUntil) },
];

function serviceAccountLines(s: ServiceAccount): string[] {
  return [
    `service account ${s.id}`,
    `  name:      ${s.name}`,
    `  status:    ${s.status}`,
    `  actions:   ${s.actions.join(' ')}`,
    `  created:   ${iso(s.createdAt)}`,
    `  last used: ${iso(s.lastUsedAt)}`,
    `  keys:      ${s.keys.length === 0 ? 'none' : s.keys.map((k) => `${k.id} (${k.accessKey}, ${k.status})`).join(', ')}`,
  ];
}

export function registerServiceAccountCommands(program: Command, io: CliIO): void {
  const sa = program.command('service-account').description('Manage service accounts (the hoster.by scheme: Access Key + Secret Key -> JWT)');

  idempotencyOption(
    targetOptions(
      sa
        .command('create')
        .description('Create a service account for an account, with the actions its tokens allow')
        .requiredOption('--account <id>', 'account id')
        .requiredOption('--name <name>', 'what the service account is for')
        .requiredOption('--actions <list>', `comma-separated allowed actions, e.g. ${ACTIONS_EXAMPLE}`),
      '{"id"}',
    ),
  ).action(async (o: { account: string; name: string; actions: string } & TargetFlags) => {
    const accountId = parseId(o.account, '--account');
    const actions = parseList(o.actions, '--actions', ACTIONS_EXAMPLE);
    await withOperator(io, o, async (op, out) => {
      const created = await op.createServiceAccount(accountId, { name: o.name, actions });
      out.result({ id: created.id }, [
        `service account ${created.id} created for account ${accountId}`,
        `  name:    ${created.name}`,
        `  actions: ${created.actions.join(' ')}`,
        `  next:    tokend key create --service-account ${created.id}`,
      ]);
    });
  });

  targetOptions(sa.command('list').description('List the service accounts of an account').requiredOption('--account <id>', 'account id'), '{"serviceAccounts":[…]}').action(
    async (o: { account: string } & TargetFlags) => {
      const accountId = parseId(o.account, '--account');
      await withOperator(io, o, async (op, out) => {
        out.table('serviceAccounts', await op.listServiceAccounts(accountId), SERVICE_ACCOUNT_COLUMNS, { empty: `account ${accountId} has no service accounts` });
      });
    },
  );

  showCommand(io, sa, {
    description: 'Show one service account with its keys (never a Secret Key)',
    argument: 'id',
    label: 'service account id',
    json: 'the service account',
    parse: parseId,
    get: (op, id) => op.getServiceAccount(id),
    lines: serviceAccountLines,
  });

  targetOptions(
    sa
      .command('update')
      .description('Rename a service account or replace its actions (new access tokens carry them; issued ones keep theirs)')
      .argument('<id>', 'service account id')
      .option('--name <name>', 'new name')
      .option('--actions <list>', `the new comma-separated actions, e.g. ${ACTIONS_EXAMPLE}`),
    'the service account',
  ).action(async (rawId: string, o: { name?: string; actions?: string } & TargetFlags) => {
    const id = parseId(rawId, 'service account id');
    if (o.name === undefined && o.actions === undefined) throw new UsageError('service-account update needs --name or --actions');
    const actions = o.actions === undefined ? undefined : parseList(o.actions, '--actions', ACTIONS_EXAMPLE);
    await withOperator(io, o, async (op, out) => {
      const s = await op.updateServiceAccount(id, { ...(o.name !== undefined ? { name: o.name } : {}), ...(actions ? { actions } : {}) });
      out.result(s, [`service account ${s.id} updated`, ...serviceAccountLines(s).slice(1)]);
    });
  });

  statusCommands(io, sa, {
    what: 'service account',
    disable: 'Disable a service account: its keys stop creating tokens and every session they started is revoked',
    enable: 'Enable a disabled service account again (revoked sessions stay revoked)',
    set: (op, id, status) => op.setServiceAccountStatus(id, status),
  });

  const key = program.command('key').description('Manage service-account keys (Access Key + Secret Key)');

  idempotencyOption(
    targetOptions(
      key
        .command('create')
        .description('Create an Access Key / Secret Key pair for a service account; the Secret Key is printed once')
        .requiredOption('--service-account <id>', 'service account id')
        .option('--expires-in <duration>', 'lifetime, e.g. 90d (default: no expiry); tokens never outlive the key'),
      '{"keyId","accessKey","secretKey","expiresAt"}',
    ),
  ).action(async (o: { serviceAccount: string; expiresIn?: string } & TargetFlags) => {
    const serviceAccountId = parseId(o.serviceAccount, '--service-account');
    const expiresIn = o.expiresIn === undefined ? undefined : durationText(o.expiresIn, '--expires-in', { min: 1000, max: MAX_KEY_LIFETIME_MS });
    await withOperator(io, o, async (op, out) => {
      const created = await op.createKey(serviceAccountId, expiresIn);
      out.result({ keyId: created.keyId, accessKey: created.accessKey, secretKey: created.secretKey, expiresAt: created.expiresAt }, [
        `key ${created.keyId} created for service account ${serviceAccountId}`,
        `  Access Key: ${created.accessKey}`,
        `  Secret Key: ${created.secretKey}`,
        '  (the Secret Key is shown once: tokend keeps only its SHA-256, so store it now)',
        `  expires:    ${iso(created.expiresAt)}`,
      ]);
    });
  });

  targetOptions(
    key.command('list').description('List the keys of a service account (Secret Key hints only)').requiredOption('--service-account <id>', 'service account id'),
    '{"keys":[…]}',
  ).action(async (o: { serviceAccount: string } & TargetFlags) => {
    const serviceAccountId = parseId(o.serviceAccount, '--service-account');
    await withOperator(io, o, async (op, out) => {
      const s = await op.getServiceAccount(serviceAccountId);
      out.table('keys', s.keys, KEY_COLUMNS, { empty: `service account ${serviceAccountId} has no keys` });
    });
  });

  targetOptions(
    key
      .command('revoke')
      .description('Revoke a key: it stops creating tokens and every session it started is revoked')
      .argument('<keyId>', 'key id (the keyId `key create` printed; `tokend key list` shows them)')
      .option('--service-account <id>', 'the service account the key belongs to (required with --url)'),
    '{"keyId","revoked":true}',
  ).action(async (rawId: string, o: { serviceAccount?: string } & TargetFlags) => {
    const keyId = parseId(rawId, 'key id');
    const serviceAccountId = o.serviceAccount === undefined ? undefined : parseId(o.serviceAccount, '--service-account');
    await withOperator(io, o, async (op, out) => {
      const { changed } = await op.revokeKey(keyId, serviceAccountId);
      out.result({ keyId, revoked: true }, [changed === false ? `key ${keyId} was already revoked` : `key ${keyId} revoked`]);
    });
  });

  const signing = program.command('signing-key').description('Manage the JWT signing keys (/.well-known/jwks.json)');

  targetOptions(
    signing
      .command('rotate')
      .description('Add a new signing key: published at once, signing after TOKEND_SIGNING_KEY_PUBLISH_DELAY; the old key stays published until its last token expires'),
    '{"kid","alg","activatesAt","previousKid","previousPublishedUntil"}',
  ).action(async (o: TargetFlags) => {
    await withOperator(io, o, async (op, out) => {
      const { key: created, previous, deleted } = await op.rotateSigningKey();
      out.result(
        {
          kid: created.kid,
          alg: created.alg,
          activatesAt: created.activatesAt,
          previousKid: previous?.kid ?? null,
          previousPublishedUntil: previous?.publishedUntil ?? null,
        },
        [
          `signing key ${created.kid} (${created.alg}) added: published now, signs from ${iso(created.activatesAt)}`,
          previous
            ? `  previous key ${previous.kid} signs until ${iso(previous.signsUntil)} and stays published until ${iso(previous.publishedUntil)}`
            : '  (the first key of the ring)',
          ...(deleted.length ? [`  deleted retired keys: ${deleted.join(', ')}`] : []),
        ],
      );
    });
  });

  targetOptions(signing.command('list').description('List the signing keys and where each stands'), '{"keys":[…]}').action(async (o: TargetFlags) => {
    await withOperator(io, o, async (op, out) => {
      out.table('keys', await op.listSigningKeys(), SIGNING_KEY_COLUMNS, { empty: 'no signing keys yet (the first is created when the first token is signed)' });
    });
  });
}
