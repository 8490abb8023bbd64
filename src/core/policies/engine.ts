/**
 * The policy engine: given a subject's compiled rules and the context of one check, allow (with
 * the remaining figures) or refuse with a reason. Pure computation over memory: no I/O, no await,
 * so a check costs a few map lookups, and concurrent checks on a node cannot interleave.
 *
 * Order: the place (allow-list), then the permission (scope), then the rate, then the credits.
 * The cheap refusals come first, and a refused check uses up neither rate nor credits.
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
  rateLimits: readonly RateWindowRule[];
  allowList: AllowList | null;
  /** Null: unrestricted (every permission of the account). */
  scopes: ReadonlySet<string> | null;
  credits: CreditRule | null;
}

export type PolicyRefusal =
  | { ok: false; code: 'ip_denied' }
  | { ok: false; code: 'scope_missing'; scope: string }
  | { ok: false; code: 'rate_limited'; retryAfterSeconds: number; window: WindowStatus; windows: WindowStatus[] }
  | { ok: false; code: 'credits_exhausted'; retryAfterSeconds: number | null; windows: WindowStatus[] };

export type PolicyDecision = { ok: true; windows: WindowStatus[]; creditsLeft: number | null } | PolicyRefusal;

export type PolicyRefusalCode = PolicyRefusal['code'];
export const POLICY_REFUSALS: readonly PolicyRefusalCode[] = ['ip_denied', 'scope_missing', 'rate_limited', 'credits_exhausted'];

const ALLOWED: PolicyDecision = Object.freeze({ ok: true, windows: [], creditsLeft: null }) as PolicyDecision;

export function compilePolicy(key: string, rules: PolicyRules): CompiledPolicy {
  return {
    key,
    rules,
    rateLimits: rules.rateLimits,
    allowList: rules.ipAllowList ? new AllowList(rules.ipAllowList) : null,
    scopes: rules.scopes ? new Set(rules.scopes) : null,
    credits: rules.credits,
  };
}

export class PolicyEngine {
  readonly #limiter: RateLimiter;
  readonly #ledger: CreditLedger;

  constructor(deps: { limiter: RateLimiter; ledger: CreditLedger }) {
    this.#limiter = deps.limiter;
    this.#ledger = deps.ledger;
  }

  /** No policy: allowed, with nothing to report. */
  check(policy: CompiledPolicy | null | undefined, ctx: CheckContext): PolicyDecision {
    if (!policy) return ALLOWED;
    if (policy.allowList && !policy.allowList.allows(ctx.address)) return { ok: false, code: 'ip_denied' };
    if (ctx.scope !== undefined && policy.scopes && !policy.scopes.has(ctx.scope)) return { ok: false, code: 'scope_missing', scope: ctx.scope };
    let windows: WindowStatus[] = [];
    let next: number[] | null = null;
    if (policy.rateLimits.length > 0) {
      const rate = this.#limiter.peek(policy.key, policy.rateLimits, ctx.now);
      if (!rate.ok) return { ok: false, code: 'rate_limited', retryAfterSeconds: rate.retryAfterSeconds, window: rate.window, windows: rate.windows };
      windows = rate.windows;
      next = rate.next;
    }
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
