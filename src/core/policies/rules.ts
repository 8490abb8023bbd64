/**
 * The rules a subject can carry, and their validation. A subject is an API token, a
 * service-account key (by its Access Key), an app (by its appId: every ChatApp session made
 * through it) or an account (its expiry policy for new tokens and keys). docs/policies.md
 * explains each rule; nonsense is refused with the field named, before anything is stored.
 */
import { InvalidInputError } from '../errors.ts';
import type { CreditRule } from './credits.ts';
import { allowEntryProblem, MAX_ALLOW_LIST_ENTRIES, normalizeAllowEntry } from './ip.ts';
import type { RateWindowRule } from './rate-limit.ts';

export type SubjectKind = 'api_token' | 'service_key' | 'app' | 'account';
export const SUBJECT_KINDS: readonly SubjectKind[] = ['api_token', 'service_key', 'app', 'account'];

export interface Subject {
  kind: SubjectKind;
  /** The API token's id, the key's Access Key, the appId, or the account id. */
  id: string;
}

/** Rules on new API tokens and keys (instance-wide in settings, or per account). */
export interface ExpiryRule {
  /** Longest lifetime a new token or key may have, in seconds; null: no maximum. */
  maxLifetimeSeconds: number | null;
  /** A new token or key must have an expiry. */
  required: boolean;
}

export interface PolicyRules {
  rateLimits: RateWindowRule[];
  credits: CreditRule | null;
  /** Addresses and CIDR ranges a check may come from; null: anywhere. */
  ipAllowList: string[] | null;
  /** API tokens only: the permissions the token carries; null: all of its account's. */
  scopes: string[] | null;
  /** Accounts only. */
  expiry: ExpiryRule | null;
}

/** Rules as a caller sends them: every part optional. */
export interface PolicyInput {
  rateLimits?: RateWindowRule[] | null;
  credits?: { remaining: number; cost?: number; refill?: { amount: number; interval: 'daily' | 'monthly' } | null } | null;
  ipAllowList?: string[] | null;
  scopes?: string[] | null;
  expiry?: { maxLifetimeSeconds?: number | null; required?: boolean } | null;
}

export const EMPTY_RULES: PolicyRules = Object.freeze({ rateLimits: [], credits: null, ipAllowList: null, scopes: null, expiry: null });

export const MAX_RATE_WINDOWS = 5;
export const MAX_WINDOW_SECONDS = 31 * 86_400;
export const MAX_LIMIT = 1_000_000_000;
export const MAX_CREDITS = 1_000_000_000_000;
export const MAX_COST = 1_000_000;
export const MAX_SCOPES = 100;
export const SCOPE_PATTERN = /^[A-Za-z0-9_.:/-]{1,100}$/;

function positiveInt(value: unknown, max: number, field: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidInputError(field, `must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/**
 * Checks and normalises the rules of a subject. `accountPermissions` is what the subject's account
 * may do (the union of its service accounts' actions): an API token's scopes must be a subset.
 * Throws InvalidInputError naming the first bad field.
 */
export function validateRules(kind: SubjectKind, input: PolicyInput, accountPermissions: ReadonlySet<string>): PolicyRules {
  const only = (field: keyof PolicyInput, kinds: readonly SubjectKind[], why: string): void => {
    const value = input[field];
    if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0) && !kinds.includes(kind)) {
      throw new InvalidInputError(field, why);
    }
  };
  only('rateLimits', ['api_token', 'service_key', 'app'], 'applies to API tokens, keys and apps, not to accounts');
  only('credits', ['api_token', 'service_key', 'app'], 'applies to API tokens, keys and apps, not to accounts');
  only('ipAllowList', ['api_token', 'service_key', 'app'], 'applies to API tokens, keys and apps, not to accounts');
  only('scopes', ['api_token'], 'only API tokens carry scopes (a key has its service account\'s actions)');
  only('expiry', ['account'], 'applies to accounts (their new API tokens and keys)');

  const rateLimits: RateWindowRule[] = [];
  const windows = input.rateLimits ?? [];
  if (windows.length > MAX_RATE_WINDOWS) throw new InvalidInputError('rateLimits', `at most ${MAX_RATE_WINDOWS} windows`);
  const seen = new Set<number>();
  windows.forEach((w, i) => {
    const windowSeconds = positiveInt(w.windowSeconds, MAX_WINDOW_SECONDS, `rateLimits[${i}].windowSeconds`);
    const limit = positiveInt(w.limit, MAX_LIMIT, `rateLimits[${i}].limit`);
    if (seen.has(windowSeconds)) throw new InvalidInputError(`rateLimits[${i}].windowSeconds`, 'two windows of the same length');
    seen.add(windowSeconds);
    if (w.exact !== undefined && typeof w.exact !== 'boolean') throw new InvalidInputError(`rateLimits[${i}].exact`, 'must be true or false');
    rateLimits.push(w.exact ? { limit, windowSeconds, exact: true } : { limit, windowSeconds });
  });
  rateLimits.sort((a, b) => a.windowSeconds - b.windowSeconds);

  let credits: CreditRule | null = null;
  if (input.credits) {
    const c = input.credits;
    const remaining = positiveInt(c.remaining, MAX_CREDITS, 'credits.remaining', 0);
    const cost = c.cost === undefined ? 1 : positiveInt(c.cost, MAX_COST, 'credits.cost', 0);
    let refill: CreditRule['refill'] = null;
    if (c.refill) {
      const amount = positiveInt(c.refill.amount, MAX_CREDITS, 'credits.refill.amount');
      if (c.refill.interval !== 'daily' && c.refill.interval !== 'monthly') {
        throw new InvalidInputError('credits.refill.interval', 'must be daily or monthly');
      }
      refill = { amount, interval: c.refill.interval };
    }
    credits = { remaining, cost, refill };
  }

  let ipAllowList: string[] | null = null;
  if (input.ipAllowList) {
    if (input.ipAllowList.length > MAX_ALLOW_LIST_ENTRIES) throw new InvalidInputError('ipAllowList', `at most ${MAX_ALLOW_LIST_ENTRIES} entries`);
    ipAllowList = input.ipAllowList.map((raw, i) => {
      const entry = typeof raw === 'string' ? raw.trim() : '';
      const problem = allowEntryProblem(entry);
      if (problem) throw new InvalidInputError(`ipAllowList[${i}]`, problem);
      return normalizeAllowEntry(entry);
    });
  }

  let scopes: string[] | null = null;
  if (input.scopes) {
    if (input.scopes.length > MAX_SCOPES) throw new InvalidInputError('scopes', `at most ${MAX_SCOPES} scopes`);
    scopes = [];
    input.scopes.forEach((scope, i) => {
      if (typeof scope !== 'string' || !SCOPE_PATTERN.test(scope)) throw new InvalidInputError(`scopes[${i}]`, 'is not a permission name');
      if (!accountPermissions.has(scope)) throw new InvalidInputError(`scopes[${i}]`, 'the account does not have this permission');
      if (!scopes!.includes(scope)) scopes!.push(scope);
    });
  }

  let expiry: ExpiryRule | null = null;
  if (input.expiry) {
    const max = input.expiry.maxLifetimeSeconds ?? null;
    expiry = {
      maxLifetimeSeconds: max === null ? null : positiveInt(max, 100 * 365 * 86_400, 'expiry.maxLifetimeSeconds', 60),
      required: input.expiry.required === true,
    };
  }
  return { rateLimits, credits, ipAllowList, scopes, expiry };
}

/** Where services creating tokens and keys find the expiry rules of an account (PolicyService). */
export interface ExpiryPolicy {
  /** Resolves once the rules are in memory. */
  ready(): Promise<void>;
  /** The instance's rule, then the account's (memory only). */
  expiryRules(accountId: number): readonly (ExpiryRule | null)[];
  /**
   * Inside a rotation's transaction: the successor of API token `fromId` takes its rules and its
   * credit balance (docs/policies.md, "Rotation"). Returns what `installed` needs after the commit,
   * or null when the token had no rules.
   */
  carryOver?(tx: { policies: PolicyRepoLike }, fromId: string, toId: string, now: number): Promise<readonly Subject[] | null>;
  /** After the commit of a carry-over: this node installs the subjects' new rules, the others are told. */
  installed?(subjects: readonly Subject[]): Promise<void>;
}

/** The part of the store's policy repository a carry-over uses (src/core/ports.ts PolicyRepo). */
export interface PolicyRepoLike {
  get(subject: Subject): Promise<{ subject: Subject; accountId: number; rules: PolicyRules; credits: { remaining: number; period: number } | null; updatedAt: number } | null>;
  put(record: { subject: Subject; accountId: number; rules: PolicyRules; credits: { remaining: number; period: number } | null; updatedAt: number }): Promise<void>;
}

/**
 * The expiry a new token or key gets under the instance's and the account's rules (the stricter of
 * the two applies). `requested` is what the caller asked for (null: none). Throws InvalidInputError
 * on `field` when the request breaks a rule; never lengthens what was asked.
 */
export function applyExpiryRules(rules: readonly (ExpiryRule | null)[], requested: number | null, now: number, field: string): number | null {
  let maxMs: number | null = null;
  let required = false;
  for (const rule of rules) {
    if (!rule) continue;
    if (rule.maxLifetimeSeconds !== null) maxMs = Math.min(maxMs ?? Infinity, rule.maxLifetimeSeconds * 1000);
    required ||= rule.required;
  }
  if (requested === null) {
    if (required) throw new InvalidInputError(field, 'an expiry is required by the expiry policy');
    return null;
  }
  if (maxMs !== null && requested - now > maxMs) {
    throw new InvalidInputError(field, `is past the expiry policy's maximum lifetime (${Math.floor(maxMs / 1000)} s)`);
  }
  return requested;
}

/**
 * The same rules at a rotation: the replacement must not outlive the policy, so its expiry is cut
 * to the maximum (and set when one is required) rather than refused: a rotation replaces a leaked
 * credential and must not fail for a rule added after the old one was made.
 */
export function clampExpiry(rules: readonly (ExpiryRule | null)[], wanted: number | null, now: number): number | null {
  let maxMs: number | null = null;
  for (const rule of rules) if (rule?.maxLifetimeSeconds != null) maxMs = Math.min(maxMs ?? Infinity, rule.maxLifetimeSeconds * 1000);
  if (maxMs === null) return wanted;
  return wanted === null ? now + maxMs : Math.min(wanted, now + maxMs);
}
