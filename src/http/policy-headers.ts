/**
 * The headers a check's policy figures travel in, for every surface (docs/policies.md):
 * - `RateLimit-Policy` / `RateLimit` (IETF httpapi RateLimit header fields draft): one item per
 *   window, named by its length (`"60s";q=100;w=60` and `"60s";r=42;t=18`);
 * - `Retry-After` on a 429 (until a slot frees, or until the credits refill; none when credits
 *   never refill);
 * - `X-Tokend-Credits-Remaining` when the subject has credits.
 * Headers only: the success bodies of the compatibility dialects stay exactly as they were.
 */
import type { WindowStatus } from '../core/policies/rate-limit.ts';
import type { CheckOutcome } from '../core/verification.ts';
import type { WireReply } from './dialect.ts';

export const CREDITS_HEADER = 'x-tokend-credits-remaining';

/**
 * What a caller asks of a token's rules, as the wire gives it (forward auth's
 * `X-Tokend-Required-Scope` and `X-Tokend-Cost`, introspection's `scope` and `cost`): the scope the
 * token must carry and the credits the check costs, as check options.
 */
export function ruleAsks(scope: string | undefined, cost: string | undefined): { requiredScope?: string; cost?: number } {
  return { ...(scope !== undefined ? { requiredScope: scope } : {}), ...(cost !== undefined ? { cost: Number(cost) } : {}) };
}

function windowName(w: WindowStatus): string {
  return `"${w.windowSeconds}s"`;
}

function windowHeaders(windows: readonly WindowStatus[]): Record<string, string> {
  if (windows.length === 0) return {};
  return {
    'ratelimit-policy': windows.map((w) => `${windowName(w)};q=${w.limit};w=${w.windowSeconds}`).join(', '),
    ratelimit: windows.map((w) => `${windowName(w)};r=${w.remaining};t=${w.resetSeconds}`).join(', '),
  };
}

/** The policy headers of a check's outcome (none when no rule applied). */
export function policyHeaders(outcome: CheckOutcome): Record<string, string> {
  if (outcome.ok) {
    if (!outcome.limits) return {};
    const out = windowHeaders(outcome.limits.windows);
    if (outcome.limits.creditsLeft !== null) out[CREDITS_HEADER] = String(outcome.limits.creditsLeft);
    return out;
  }
  const refusal = outcome.policy;
  if (!refusal) return {};
  switch (refusal.code) {
    case 'rate_limited':
      return { ...windowHeaders(refusal.windows), 'retry-after': String(refusal.retryAfterSeconds) };
    case 'credits_exhausted':
      return { ...windowHeaders(refusal.windows), [CREDITS_HEADER]: '0', 'retry-after': String(refusal.retryAfterSeconds) };
    default:
      return {};
  }
}

/** The wire reply with the outcome's policy headers added. */
export function withPolicyHeaders(wire: WireReply, outcome: CheckOutcome): WireReply {
  // Most checks carry no rules: nothing to build.
  if (outcome.ok ? !outcome.limits : !outcome.policy) return wire;
  const extra = policyHeaders(outcome);
  let any = false;
  for (const _ in extra) {
    any = true;
    break;
  }
  if (!any) return wire;
  return { ...wire, headers: wire.headers ? { ...wire.headers, ...extra } : extra };
}
