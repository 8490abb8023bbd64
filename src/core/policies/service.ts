/**
 * Policies as a service: rules stored per subject, held in every node's memory, enforced by the
 * engine without touching the database.
 *
 * - Load: the first `ready()` reads every stored policy (only subjects with rules have a row) and
 *   compiles them; checks then read a Map. A full reload every REFRESH_EVERY_MS is the backstop
 *   for a change no notification carried (the CLI beside a server on SQLite): the staleness bound.
 * - Changes: a PUT or DELETE here installs the new rules at once and publishes `policy` on
 *   core.changes; other nodes (bridged over PostgreSQL LISTEN/NOTIFY) reload that subject.
 * - Credits: spent in memory (CreditLedger), flushed in batches through PolicyRepo.spendCreditsMany.
 *
 * Subjects: an API token (by id), a service-account key (stored by its Access Key, which is what
 * a key's sessions carry; callers name it by its numeric id), an app (appId), an account (id).
 */
import { audit, type AuditContext } from '../audit.ts';
import type { ChangeBus } from '../changes.ts';
import type { Clock } from '../clock.ts';
import type { CreditSpend, PolicyRecord, Store } from '../ports.ts';
import type { CheckContext as VerifyContext, CheckPolicy, TokenIdentity } from '../verification.ts';
import { CreditLedger, refillPeriod, type StoredCredits } from './credits.ts';
import { creditsLowEvent, type OutgoingEvent } from '../events/catalog.ts';
import { compilePolicy, PolicyEngine, type CheckContext, type CompiledPolicy, type PolicyDecision } from './engine.ts';
import { RateLimiter, type RateWindowRule } from './rate-limit.ts';
import { validateRules, type ExpiryRule, type PolicyInput, type PolicyRepoLike, type PolicyRules, type Subject, type SubjectKind } from './rules.ts';

/** How often every node re-reads all policies, whatever notifications said. */
export const REFRESH_EVERY_MS = 30_000;
/** Subjects whose rate counters a node holds at most (docs/policies.md). */
const MAX_RATE_SUBJECTS = 200_000;

export interface PolicyServiceDeps {
  store: Store;
  clock: Clock;
  changes: ChangeBus;
  /** The instance's expiry rule for new API tokens and keys (settings). */
  instanceExpiry: ExpiryRule;
}

/** A subject's rules as the admin and cabinet APIs show them. */
export interface PolicyView {
  subject: Subject;
  accountId: number;
  rules: PolicyRules;
  /** Credits left now (stored balance minus what this node spent since its last flush). */
  creditsLeft: number | null;
  updatedAt: number;
}

export interface SubjectRef {
  subject: Subject;
  accountId: number;
}

export function subjectKey(subject: Subject): string {
  return `${subject.kind}:${subject.id}`;
}

function parseKey(key: string): Subject | null {
  const i = key.indexOf(':');
  if (i <= 0) return null;
  return { kind: key.slice(0, i) as SubjectKind, id: key.slice(i + 1) };
}

export class PolicyService implements CheckPolicy {
  readonly #d: PolicyServiceDeps;
  readonly #limiter = new RateLimiter({ maxSubjects: MAX_RATE_SUBJECTS });
  readonly #ledger: CreditLedger;
  readonly #engine: PolicyEngine;
  readonly #compiled = new CompiledIndex();
  #accounts = new Map<number, ExpiryRule>();
  #records = new Map<string, PolicyRecord>();
  #loading: Promise<void> | null = null;
  #loaded = false;
  /**
   * A sequence number per subject this node wrote (put, remove, forget, a carry-over), from one
   * counter: a re-read that began before a write here may return rows older than what that write
   * installed (a deleted policy, say), and must not install them over it.
   */
  #writes = 0;
  readonly #written = new Map<string, { seq: number; at: number }>();
  #timer: NodeJS.Timeout | null = null;
  readonly #unfollow: () => void;

  constructor(deps: PolicyServiceDeps) {
    this.#d = deps;
    this.#ledger = new CreditLedger({
      spend: async (batch) => {
        const spends: CreditSpend[] = [];
        const at: number[] = [];
        batch.forEach((item, i) => {
          const subject = parseKey(item.subject);
          if (!subject) return;
          spends.push({ subject, period: item.period, used: item.used, refillAmount: item.refillAmount });
          at.push(i);
        });
        const out: (StoredCredits | null)[] = new Array<StoredCredits | null>(batch.length).fill(null);
        if (spends.length === 0) return out;
        // The balances and, when a spend took one below the low mark, its `credits.low` webhook
        // event land together.
        await this.#d.store.transaction(async (tx) => {
          const after = await tx.policies.spendCreditsMany(spends);
          for (let j = 0; j < spends.length; j++) {
            const stored = after[j] ?? null;
            out[at[j]!] = stored;
            const low = stored ? this.#lowCredits(batch[at[j]!]!.subject, spends[j]!.subject, stored, spends[j]!.used) : null;
            if (low) await tx.webhooks.enqueue(low);
          }
        });
        return out;
      },
    });
    this.#engine = new PolicyEngine({
      limiter: this.#limiter,
      ledger: this.#ledger,
      // A transaction, so that on SQLite the exact checks waiting together share one COMMIT (group commit).
      exact: (scope, windowStart, limit, expiresAt) => this.#d.store.transaction((tx) => tx.counters.incrementBelow(scope, windowStart, limit, expiresAt)),
    });
    this.#unfollow = deps.changes.subscribe((change) => {
      if (change.kind !== 'policy' || !change.remote) return;
      for (const key of change.ids) void this.#reloadOne(key).catch(() => {});
    });
  }

  /**
   * `credits.low` when a spend took the balance to or below a tenth of what the subject gets (its
   * refill, else the balance its rules set) from above it: once per subject and refill period.
   */
  #lowCredits(key: string, subject: Subject, after: StoredCredits, used: number): OutgoingEvent | null {
    const record = this.#records.get(key);
    const rule = record?.rules.credits;
    if (!record || !rule) return null;
    const full = rule.refill?.amount ?? rule.remaining;
    const mark = Math.floor(full / 10);
    if (after.remaining > mark || after.remaining + used <= mark) return null;
    return creditsLowEvent({ key, subject, accountId: record.accountId, remaining: after.remaining, mark, period: after.period }, this.#d.clock.now());
  }

  /** True once the rules are in memory: checks before that must await `ready()`. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Loads every policy once (and starts the periodic reload); later calls return at once. */
  async ready(): Promise<void> {
    if (this.#loaded) return;
    this.#loading ??= this.#loadAll().finally(() => {
      this.#loading = null;
    });
    await this.#loading;
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.#loadAll().catch(() => {}), REFRESH_EVERY_MS);
      this.#timer.unref();
    }
  }

  /** Re-reads every policy now (what the periodic reload does). */
  async refresh(): Promise<void> {
    await this.#loadAll();
  }

  /** The compiled rules of a subject (memory only), or undefined when it has none. */
  policyOf(kind: SubjectKind, id: string): CompiledPolicy | undefined {
    return this.#compiled.get(kind, id);
  }

  /**
   * Enforces a subject's rules on one check: synchronous, no I/O (call `ready()` once first).
   * A subject without rules is allowed with nothing to report.
   */
  check(kind: SubjectKind, id: string, ctx: CheckContext): PolicyDecision | Promise<PolicyDecision> {
    return this.#engine.check(this.#compiled.get(kind, id), ctx);
  }

  /**
   * The verification path's policy hook: the rules of what the token was issued through (the API
   * token itself, the app of a ChatApp session, the key of a service session). Memory only, once
   * loaded. A required scope is also held against a service token's own actions when no rule
   * narrows it; a token with no narrower grant (an API token without scopes, a ChatApp session)
   * carries its account's permissions. Refresh tokens are no use of an API: no rules apply.
   */
  apply(identity: TokenIdentity, context: VerifyContext): PolicyDecision | null | Promise<PolicyDecision | null> {
    if (!this.#loaded) return this.ready().then(() => this.#apply(identity, context));
    return this.#apply(identity, context);
  }

  #apply(identity: TokenIdentity, context: VerifyContext): PolicyDecision | null | Promise<PolicyDecision> {
    // Looked up by kind, then by the id the identity already holds: no key string built per check.
    let policy: CompiledPolicy | undefined;
    if (identity.kind === 'api_token') policy = this.#compiled.get('api_token', identity.apiTokenId);
    else if (identity.kind === 'access') policy = this.#compiled.get('app', identity.clientId);
    else if (identity.kind === 'service_access') policy = this.#compiled.get('service_key', identity.clientId);
    const scope = context.requiredScope;
    if (scope !== undefined && !policy?.scopes && identity.scope !== '' && !identity.scope.split(' ').includes(scope)) {
      return { ok: false, code: 'scope_missing', scope };
    }
    if (!policy) return null;
    return this.#engine.check(policy, { address: context.address, scope, cost: context.cost, now: this.#d.clock.now() });
  }

  /** Expiry rules for new API tokens and keys of an account: the instance's, then the account's (memory only). */
  expiryRules(accountId: number): readonly (ExpiryRule | null)[] {
    return [this.#d.instanceExpiry, this.#accounts.get(accountId) ?? null];
  }

  /**
   * Finds a subject and its account from how callers name it (service keys by numeric id).
   * With `accountId`, a subject of another account is not found (the cabinet).
   */
  async resolve(kind: SubjectKind, ref: string, options: { accountId?: number } = {}): Promise<SubjectRef | null> {
    const { store } = this.#d;
    let found: SubjectRef | null = null;
    switch (kind) {
      case 'api_token': {
        const token = await store.apiTokens.findById(ref);
        if (token) found = { subject: { kind, id: token.id }, accountId: token.accountId };
        break;
      }
      case 'service_key': {
        if (!/^[1-9][0-9]{0,15}$/.test(ref)) return null;
        const key = await store.serviceKeys.findById(Number(ref));
        const sa = key ? await store.serviceAccounts.findById(key.serviceAccountId) : null;
        if (key && sa) found = { subject: { kind, id: key.accessKey }, accountId: sa.accountId };
        break;
      }
      case 'app': {
        const app = await store.apps.findByAppId(ref);
        if (app) found = { subject: { kind, id: app.appId }, accountId: app.accountId };
        break;
      }
      case 'account': {
        if (!/^[1-9][0-9]{0,15}$/.test(ref)) return null;
        const account = await store.accounts.findById(Number(ref));
        if (account) found = { subject: { kind, id: String(account.id) }, accountId: account.id };
        break;
      }
    }
    if (!found || (options.accountId !== undefined && found.accountId !== options.accountId)) return null;
    return found;
  }

  /** The subject's rules, or null when it has none. */
  async get(ref: SubjectRef): Promise<PolicyView | null> {
    await this.ready();
    const record = this.#records.get(subjectKey(ref.subject)) ?? (await this.#d.store.policies.get(ref.subject));
    return record ? this.#view(record) : null;
  }

  /**
   * Validates and stores a subject's rules (replacing any), then applies them on this node at once
   * and on others through core.changes. A credits rule sets the balance to `credits.remaining`.
   * Throws InvalidInputError naming the field; nothing is stored then.
   */
  async put(ref: SubjectRef, input: PolicyInput, ctx: AuditContext): Promise<PolicyView> {
    await this.ready();
    const permissions = input.scopes && input.scopes.length > 0 ? await this.accountPermissions(ref.accountId) : new Set<string>();
    const rules = validateRules(ref.subject.kind, input, permissions);
    const now = this.#d.clock.now();
    const record: PolicyRecord = {
      subject: ref.subject,
      accountId: ref.accountId,
      rules,
      credits: rules.credits ? { remaining: rules.credits.remaining, period: refillPeriod(rules.credits.refill, now) } : null,
      updatedAt: now,
    };
    await this.#d.store.transaction(async (tx) => {
      await tx.policies.put(record);
      await audit(tx.audit, this.#d.clock, ctx, {
        type: 'policy.updated',
        accountId: ref.accountId,
        detail: { subject: ref.subject.kind, id: ref.subject.id, rules },
      });
    });
    this.#install(record, true);
    this.#wrote(subjectKey(ref.subject));
    this.#d.changes.publish({ kind: 'policy', ids: [subjectKey(ref.subject)] });
    return this.#view(record);
  }

  /**
   * A rotated API token's rules move to its successor, in the rotation's transaction: the same
   * rules, and the credit balance as this node knows it (the stored one less what it spent since
   * its last flush). The old token keeps its other rules for its grace period but no credits: the
   * balance is the customer's, not each token's, so a rotation with a grace period cannot double it.
   * Rate windows count afresh for the new token (each token has its own).
   */
  async carryOver(tx: { policies: PolicyRepoLike }, fromId: string, toId: string, now: number): Promise<readonly Subject[] | null> {
    const from: Subject = { kind: 'api_token', id: fromId };
    const record = await tx.policies.get(from);
    if (!record) return null;
    const to: Subject = { kind: 'api_token', id: toId };
    const rule = record.rules.credits;
    const left = rule && record.credits ? this.#ledger.left(subjectKey(from), rule, now) : null;
    const credits = rule && record.credits ? { remaining: left ?? record.credits.remaining, period: refillPeriod(rule.refill, now) } : null;
    await tx.policies.put({ subject: to, accountId: record.accountId, rules: record.rules, credits, updatedAt: now });
    if (credits) await tx.policies.put({ ...record, credits: { remaining: 0, period: credits.period }, updatedAt: now });
    return [from, to];
  }

  /** After a carry-over committed: installs the subjects' stored rules here and tells the other nodes. */
  async installed(subjects: readonly Subject[]): Promise<void> {
    const keys = subjects.map(subjectKey);
    for (const key of keys) {
      this.#wrote(key);
      await this.#reloadOne(key);
    }
    this.#d.changes.publish({ kind: 'policy', ids: keys });
  }

  /** Removes a subject's rules; false when it had none. */
  async remove(ref: SubjectRef, ctx: AuditContext): Promise<boolean> {
    await this.ready();
    const removed = await this.#d.store.transaction(async (tx) => {
      if (!(await tx.policies.delete(ref.subject))) return false;
      await audit(tx.audit, this.#d.clock, ctx, {
        type: 'policy.removed',
        accountId: ref.accountId,
        detail: { subject: ref.subject.kind, id: ref.subject.id },
      });
      return true;
    });
    this.#uninstall(subjectKey(ref.subject));
    this.#wrote(subjectKey(ref.subject));
    if (removed) this.#d.changes.publish({ kind: 'policy', ids: [subjectKey(ref.subject)] });
    return removed;
  }

  /**
   * Forgets the rules of subjects whose rows were deleted with their record (an app deleted with
   * its policy): at once on this node, and on others through core.changes (they re-read, find no
   * row and drop theirs).
   */
  forget(subjects: readonly Subject[]): void {
    const keys = subjects.map(subjectKey);
    for (const key of keys) {
      this.#uninstall(key);
      this.#wrote(key);
    }
    this.#d.changes.publish({ kind: 'policy', ids: keys });
  }

  /**
   * What an account may do, and so the scopes its API tokens may carry: the union of its service
   * accounts' actions (the permissions tokend already knows an account by).
   */
  async accountPermissions(accountId: number): Promise<Set<string>> {
    const serviceAccounts = await this.#d.store.serviceAccounts.listByAccount(accountId);
    return new Set(serviceAccounts.flatMap((sa) => sa.actions));
  }

  /** Writes spent credits now (tests, shutdown). */
  async flush(): Promise<void> {
    await this.#ledger.flush();
  }

  /** Stops the reload timer and writes spent credits (shutdown). */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#unfollow();
    await this.#ledger.close();
  }

  #view(record: PolicyRecord): PolicyView {
    const key = subjectKey(record.subject);
    const creditsLeft = record.rules.credits ? this.#ledger.left(key, record.rules.credits, this.#d.clock.now()) : null;
    return { subject: record.subject, accountId: record.accountId, rules: record.rules, creditsLeft, updatedAt: record.updatedAt };
  }

  /** Marks a subject as written by this node now (see `#written`). */
  #wrote(key: string): void {
    this.#written.set(key, { seq: ++this.#writes, at: Date.now() });
  }

  /** True when this node wrote the subject after `since` (a read begun then may be older). */
  #writtenSince(key: string, since: number): boolean {
    return (this.#written.get(key)?.seq ?? 0) > since;
  }

  async #loadAll(): Promise<void> {
    const since = this.#writes;
    const records = await this.#d.store.policies.list();
    const seen = new Set<string>();
    for (const record of records) {
      const key = subjectKey(record.subject);
      seen.add(key);
      if (this.#writtenSince(key, since)) continue;
      const old = this.#records.get(key);
      // A record unchanged since the last read keeps its counters; its balance still follows the store.
      this.#install(record, !old || old.updatedAt !== record.updatedAt);
    }
    for (const key of [...this.#records.keys()]) if (!seen.has(key) && !this.#writtenSince(key, since)) this.#uninstall(key);
    // A write older than a reload period is older than any read still in flight.
    const old = Date.now() - REFRESH_EVERY_MS;
    for (const [key, write] of this.#written) if (write.at < old) this.#written.delete(key);
    this.#loaded = true;
  }

  async #reloadOne(key: string): Promise<void> {
    const subject = parseKey(key);
    if (!subject) return;
    const since = this.#writes;
    const record = await this.#d.store.policies.get(subject);
    if (this.#writtenSince(key, since)) return;
    if (record) this.#install(record, true);
    else this.#uninstall(key);
  }

  #install(record: PolicyRecord, changed: boolean): void {
    const key = subjectKey(record.subject);
    const previous = this.#compiled.get(record.subject.kind, record.subject.id);
    const compiled = compilePolicy(key, record.rules);
    // Same windows as before: keep the array the rate limiter knows, so its counts carry on.
    if (previous && sameWindows(previous.rateLimits, compiled.rateLimits)) compiled.rateLimits = previous.rateLimits;
    this.#records.set(key, record);
    if (record.subject.kind === 'account') {
      if (record.rules.expiry) this.#accounts.set(Number(record.subject.id), record.rules.expiry);
      else this.#accounts.delete(Number(record.subject.id));
      return;
    }
    this.#compiled.set(record.subject, compiled);
    if (record.rules.credits && record.credits) {
      // New rules set the balance; a periodic re-read only tells a node what others spent.
      if (changed) this.#ledger.load(key, record.credits, record.rules.credits);
      else this.#ledger.observe(key, record.credits);
    } else this.#ledger.forget(key);
  }

  #uninstall(key: string): void {
    const record = this.#records.get(key);
    this.#records.delete(key);
    if (record) this.#compiled.delete(record.subject);
    this.#limiter.forget(key);
    this.#ledger.forget(key);
    if (record?.subject.kind === 'account') this.#accounts.delete(Number(record.subject.id));
  }
}

/** Compiled rules by subject kind, then id: the hot path's lookup uses the ids it already has. */
class CompiledIndex {
  readonly #byKind = new Map<SubjectKind, Map<string, CompiledPolicy>>();
  get(kind: SubjectKind, id: string | null | undefined): CompiledPolicy | undefined {
    return id == null ? undefined : this.#byKind.get(kind)?.get(id);
  }
  set(subject: Subject, compiled: CompiledPolicy): void {
    let ids = this.#byKind.get(subject.kind);
    if (!ids) this.#byKind.set(subject.kind, (ids = new Map()));
    ids.set(subject.id, compiled);
  }
  delete(subject: Subject): void {
    this.#byKind.get(subject.kind)?.delete(subject.id);
  }
}

function sameWindows(a: readonly RateWindowRule[], b: readonly RateWindowRule[]): boolean {
  return a.length === b.length && a.every((w, i) => w.limit === b[i]!.limit && w.windowSeconds === b[i]!.windowSeconds);
}
