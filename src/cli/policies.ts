/**
 * `tokend policy show|set|remove <kind> <id>`: the rules every check of a token, key or app is
 * held to, and the expiry rules of an account (docs/policies.md). `set` replaces every rule of the
 * subject at once, as the admin API's PUT does; core checks them and names a bad one.
 *
 *   tokend policy set api-token 0190… --rate 100/1s --rate 10000/1d --allow 203.0.113.0/24 --credits 1000 --refill 1000/monthly
 */
import type { Command } from 'commander';
import { UsageError, type CliIO } from './context.ts';
import { parseDuration, DURATION_GRAMMAR } from './duration.ts';
import { POLICY_KINDS, type Policy, type PolicyKind } from './operator.ts';
import { iso } from './output.ts';
import { targetOptions, withOperator, type TargetFlags } from './target.ts';

/** `<kind> <id>`: the subject every policy command names. */
function subjectArguments(cmd: Command): Command {
  return cmd.argument('<kind>', `one of ${POLICY_KINDS.join(', ')}`).argument('<id>', 'the token id, the key id, the appId or the account id');
}

function parseSubject(rawKind: string, rawId: string): { kind: PolicyKind; id: string } {
  if (!(POLICY_KINDS as readonly string[]).includes(rawKind)) throw new UsageError(`the kind must be one of ${POLICY_KINDS.join(', ')}, got ${JSON.stringify(rawKind)}`);
  const kind = rawKind as PolicyKind;
  const id = rawId.trim();
  const ok = kind === 'app' ? /^[A-Za-z0-9_-]{1,64}$/ : kind === 'api-token' ? /^[0-9a-fA-F-]{1,64}$/ : /^[1-9][0-9]{0,9}$/;
  if (!ok.test(id)) throw new UsageError(`${kind} id ${JSON.stringify(rawId)} is not an id as lists show it`);
  return { kind, id };
}

function wholeNumber(raw: string, option: string, min: number): number {
  if (!/^[0-9]{1,13}$/.test(raw.trim()) || Number(raw) < min) throw new UsageError(`${option} must be a whole number of at least ${min}, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** `100/1s`, `10000/1d`: a limit and a window, the window in the one duration grammar. */
function parseRate(raw: string, option: string, exact: boolean): { limit: number; windowSeconds: number; exact?: true } {
  const m = /^([0-9]+)\/(.+)$/.exec(raw.trim());
  if (!m) throw new UsageError(`${option} must be <checks>/<window>, the window ${DURATION_GRAMMAR} (100/1s, 10000/1d); got ${JSON.stringify(raw)}`);
  const ms = parseDuration(m[2]!, option, { min: 1000 });
  if (ms % 1000 !== 0) throw new UsageError(`${option}: the window must be whole seconds, got ${JSON.stringify(m[2])}`);
  return { limit: wholeNumber(m[1]!, option, 1), windowSeconds: ms / 1000, ...(exact ? { exact: true as const } : {}) };
}

function list(raw: string | undefined): string[] | null {
  if (raw === undefined) return null;
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  return items.length > 0 ? items : null;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

interface SetFlags extends TargetFlags {
  rate: string[];
  exactRate: string[];
  allow?: string;
  scopes?: string;
  credits?: string;
  cost?: string;
  refill?: string;
  maxLifetime?: string;
  expiryRequired?: boolean;
}

/** The rules the flags describe, as the admin API takes them; a part without a flag is no rule. */
function rulesOf(o: SetFlags): Record<string, unknown> {
  const rules: Record<string, unknown> = {};
  const windows = [...o.rate.map((r) => parseRate(r, '--rate', false)), ...o.exactRate.map((r) => parseRate(r, '--exact-rate', true))];
  if (windows.length > 0) rules.rateLimits = windows;
  if (o.allow !== undefined) rules.ipAllowList = list(o.allow);
  if (o.scopes !== undefined) rules.scopes = list(o.scopes);
  if (o.credits !== undefined) {
    const refill = o.refill === undefined ? null : /^([0-9]+)\/(daily|monthly)$/.exec(o.refill.trim());
    if (o.refill !== undefined && !refill) throw new UsageError(`--refill must be <amount>/daily or <amount>/monthly, got ${JSON.stringify(o.refill)}`);
    rules.credits = {
      remaining: wholeNumber(o.credits, '--credits', 0),
      ...(o.cost !== undefined ? { cost: wholeNumber(o.cost, '--cost', 0) } : {}),
      refill: refill ? { amount: wholeNumber(refill[1]!, '--refill', 1), interval: refill[2] } : null,
    };
  } else if (o.cost !== undefined || o.refill !== undefined) {
    throw new UsageError('--cost and --refill go with --credits (the balance to start from)');
  }
  if (o.maxLifetime !== undefined || o.expiryRequired) {
    rules.expiry = {
      maxLifetimeSeconds: o.maxLifetime !== undefined ? parseDuration(o.maxLifetime, '--max-lifetime', { min: 1000 }) / 1000 : null,
      required: o.expiryRequired === true,
    };
  }
  if (Object.keys(rules).length === 0) throw new UsageError('name at least one rule (--rate, --exact-rate, --allow, --scopes, --credits, --max-lifetime, --expiry-required); `tokend policy remove` removes them all');
  return rules;
}

function policyLines(kind: PolicyKind, id: string, p: Policy): string[] {
  const r = p.rules;
  const seconds = (s: number): string => (s % 86_400 === 0 ? `${s / 86_400}d` : s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`);
  if (p.updatedAt === null) return [`${kind} ${id} has no rules`];
  return [
    `rules of ${kind} ${id} (account ${p.accountId}), updated ${iso(p.updatedAt)}`,
    `  rate limits: ${r.rateLimits.length ? r.rateLimits.map((w) => `${w.limit}/${seconds(w.windowSeconds)}${w.exact ? ' (exact)' : ''}`).join(', ') : '-'}`,
    `  allowed from: ${r.ipAllowList ? r.ipAllowList.join(', ') : 'anywhere'}`,
    `  scopes: ${r.scopes ? r.scopes.join(', ') : 'all of the account\'s'}`,
    `  credits: ${r.credits ? `${p.creditsLeft ?? r.credits.remaining} left, ${r.credits.cost} per check${r.credits.refill ? `, refilled to ${r.credits.refill.amount} ${r.credits.refill.interval}` : ''}` : '-'}`,
    ...(r.expiry ? [`  expiry: ${r.expiry.maxLifetimeSeconds !== null ? `at most ${seconds(r.expiry.maxLifetimeSeconds)}` : 'no maximum'}${r.expiry.required ? ', required' : ''}`] : []),
  ];
}

export function registerPolicyCommands(program: Command, io: CliIO): void {
  const group = program
    .command('policy')
    .description('Rules on an API token, a service-account key or an app (rate limits, credits, IP allow-list, scopes), and expiry rules of an account');

  targetOptions(
    subjectArguments(group.command('show').description("Show a subject's rules")),
    '{"subject","accountId","rules","creditsLeft","updatedAt"}',
  ).action(async (rawKind: string, rawId: string, o: TargetFlags) => {
    const { kind, id } = parseSubject(rawKind, rawId);
    await withOperator(io, o, async (op, out) => {
      const policy = await op.getPolicy(kind, id);
      out.result(policy, policyLines(kind, id, policy));
    });
  });

  targetOptions(
    subjectArguments(group.command('set').description("Replace every rule of a subject (what is not given is no rule); checks on every node follow at once"))
      .option('--rate <checks/window>', 'a rate window counted in each node\'s memory, e.g. 100/1s; repeat for several', collect, [])
      .option('--exact-rate <checks/window>', 'a rate window counted by the database, exact across nodes (a write per check), e.g. 100/1m', collect, [])
      .option('--allow <ranges>', 'addresses and CIDR ranges a check may come from, comma-separated (IPv4 and IPv6)')
      .option('--scopes <permissions>', 'API tokens: the permissions the token carries, comma-separated')
      .option('--credits <n>', 'the credit balance to start from')
      .option('--cost <n>', 'credits a check costs (default 1)')
      .option('--refill <amount/period>', 'refill the balance to an amount daily or monthly, e.g. 1000/monthly')
      .option('--max-lifetime <duration>', 'accounts: the longest lifetime of a new API token or key, e.g. 90d')
      .option('--expiry-required', 'accounts: new API tokens and keys must expire'),
    '{"subject","accountId","rules","creditsLeft","updatedAt"}',
  ).action(async (rawKind: string, rawId: string, o: SetFlags) => {
    const { kind, id } = parseSubject(rawKind, rawId);
    const rules = rulesOf(o);
    await withOperator(io, o, async (op, out) => {
      const policy = await op.setPolicy(kind, id, rules);
      out.result(policy, policyLines(kind, id, policy));
    });
  });

  targetOptions(
    subjectArguments(group.command('remove').description('Remove every rule of a subject')),
    '{"kind","id","removed"}',
  ).action(async (rawKind: string, rawId: string, o: TargetFlags) => {
    const { kind, id } = parseSubject(rawKind, rawId);
    await withOperator(io, o, async (op, out) => {
      const { changed } = await op.removePolicy(kind, id);
      out.result({ kind, id, removed: changed === true }, [changed ? `rules of ${kind} ${id} removed` : `${kind} ${id} had no rules`]);
    });
  });
}
