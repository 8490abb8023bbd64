/**
 * The policy engine: given a subject's compiled rules and the context of one check, allow (with
 * the remaining figures) or refuse with a reason. Pure computation over memory: no I/O, no await,
 * so a check costs a few map lookups, and concurrent checks on a node cannot interleave. The one
 * exception is a rate window the operator asked to be exact: it is counted by the database (one
 * conditional UPDATE per check), and only subjects with such a window pay for it.
 *
 * Order: the place (allow-list), then the permission (scope), then the rate, then the credits.
 * The cheap refusals come first, and a refused check uses up no rate in memory and no credits. An
 * exact window counts a check before the credits are spent: a check refused for credits right
 * after still counts there (it errs towards refusing, never towards letting more through).
 */
import type { CreditLedger, CreditRule } from './credits.ts';
import { AllowList } from './ip.ts';
import type { RateLimiter, RateWindowRule, WindowStatus } from './rate-limit.ts';
import type { PolicyRules } from './rules.ts';

export interface CheckContext {
  /** The client address (docs/configuration.md, trusted proxies), or null when unknown. */
  address: string | null;
  /** A permission the caller requires (forward-auth, introspection). */
  scope?: string | undefined;
  /** Credits this check costs; default: the rule's cost (1 unless set). */
  cost?: number | undefined;
  now: number;
}

/** Rules ready for checks: parsed once when loaded, never per check. */
export interface CompiledPolicy {
  /** `<kind>:<id>`: the key of counters and credits. */
  key: string;
  rules: PolicyRules;
  /** The windows counted in memory. */
  rateLimits: readonly RateWindowRule[];
  /** The windows counted by the database (`exact`). */
  exactLimits: readonly RateWindowRule[];
  allowList: AllowList | null;
  /** Null: unrestricted (every permission of the account). */
  scopes: ReadonlySet<string> | null;
  credits: CreditRule | null;
}

export type PolicyRefusal =
  | { ok: false; code: 'ip_denied' }
  | { ok: false; code: 'scope_missing'; scope: string }
  | { ok: false; code: 'rate_limited'; retryAfterSeconds: number; window: WindowStatus; windows: WindowStatus[] }
  | { ok: false; code: 'credits_exhausted'; retryAfterSeconds: number; windows: WindowStatus[] };

export type PolicyDecision = { ok: true; windows: WindowStatus[]; creditsLeft: number | null } | PolicyRefusal;

export type PolicyRefusalCode = PolicyRefusal['code'];
export const POLICY_REFUSALS: readonly PolicyRefusalCode[] = ['ip_denied', 'scope_missing', 'rate_limited', 'credits_exhausted'];

const ALLOWED: PolicyDecision = Object.freeze({ ok: true, windows: [], creditsLeft: null }) as PolicyDecision;

export function compilePolicy(key: string, rules: PolicyRules): CompiledPolicy {
  return {
    key,
    rules,
    rateLimits: rules.rateLimits.filter((w) => !w.exact),
    exactLimits: rules.rateLimits.filter((w) => w.exact === true),
    allowList: rules.ipAllowList ? new AllowList(rules.ipAllowList) : null,
    scopes: rules.scopes ? new Set(rules.scopes) : null,
    credits: rules.credits,
  };
}

/**
 * Adds one to an exact window's count in the database unless it has reached `limit`, in one
 * statement (CounterRepo.incrementBelow); the new count, or null when the window is full.
 */
export type ExactCounter = (scope: string, windowStart: number, limit: number, expiresAt: number) => Promise<number | null>;

export class PolicyEngine {
  readonly #limiter: RateLimiter;
  readonly #ledger: CreditLedger;
  readonly #exact: ExactCounter | null;

  constructor(deps: { limiter: RateLimiter; ledger: CreditLedger; exact?: ExactCounter }) {
    this.#limiter = deps.limiter;
    this.#ledger = deps.ledger;
    this.#exact = deps.exact ?? null;
  }

  /** No policy: allowed, with nothing to report. A promise only for a subject with an exact window. */
  check(policy: CompiledPolicy | null | undefined, ctx: CheckContext): PolicyDecision | Promise<PolicyDecision> {
    if (!policy) return ALLOWED;
    if (policy.allowList && !policy.allowList.allows(ctx.address)) return { ok: false, code: 'ip_denied' };
    if (ctx.scope !== undefined && policy.scopes && !policy.scopes.has(ctx.scope)) return { ok: false, code: 'scope_missing', scope: ctx.scope };
    const rate = this.#peek(policy, ctx);
    if (!rate.ok) return rate;
    if (policy.exactLimits.length > 0 && this.#exact) return this.#countExact(policy, ctx);
    return this.#spend(policy, ctx, rate.windows, rate.next);
  }

  #peek(policy: CompiledPolicy, ctx: CheckContext): PolicyRefusal | { ok: true; windows: WindowStatus[]; next: number[] | null } {
    if (policy.rateLimits.length === 0) return { ok: true, windows: [], next: null };
    const rate = this.#limiter.peek(policy.key, policy.rateLimits, ctx.now);
    if (!rate.ok) return { ok: false, code: 'rate_limited', retryAfterSeconds: rate.retryAfterSeconds, window: rate.window, windows: rate.windows };
    return { ok: true, windows: rate.windows, next: rate.next };
  }

  /** The exact windows, one database statement each; then the memory windows again (other checks ran meanwhile) and the credits. */
  async #countExact(policy: CompiledPolicy, ctx: CheckContext): Promise<PolicyDecision> {
    const exact: WindowStatus[] = [];
    for (const w of policy.exactLimits) {
      const windowMs = w.windowSeconds * 1000;
      const start = Math.floor(ctx.now / windowMs) * windowMs;
      const resetSeconds = Math.max(1, Math.ceil((start + windowMs - ctx.now) / 1000));
      // Kept a little past the window's end, then purged with the other expired counters.
      const count = await this.#exact!(`policy:${policy.key}:${w.windowSeconds}`, start, w.limit, start + windowMs + 60_000);
      if (count === null) {
        const status: WindowStatus = { limit: w.limit, windowSeconds: w.windowSeconds, remaining: 0, resetSeconds };
        return { ok: false, code: 'rate_limited', retryAfterSeconds: resetSeconds, window: status, windows: [...exact, status] };
      }
      exact.push({ limit: w.limit, windowSeconds: w.windowSeconds, remaining: w.limit - count, resetSeconds });
    }
    const rate = this.#peek(policy, ctx);
    if (!rate.ok) return rate;
    const windows = [...rate.windows, ...exact].sort((a, b) => a.windowSeconds - b.windowSeconds);
    return this.#spend(policy, ctx, windows, rate.next);
  }

  #spend(policy: CompiledPolicy, ctx: CheckContext, windows: WindowStatus[], next: number[] | null): PolicyDecision {
    let creditsLeft: number | null = null;
    if (policy.credits) {
      const spent = this.#ledger.spend(policy.key, policy.credits, ctx.cost ?? policy.credits.cost, ctx.now);
      if (!spent.ok) return { ok: false, code: 'credits_exhausted', retryAfterSeconds: spent.retryAfterSeconds, windows };
      creditsLeft = spent.left;
    }
    if (next) this.#limiter.commit(policy.key, policy.rateLimits, next, ctx.now);
    return { ok: true, windows, creditsLeft };
  }
}
