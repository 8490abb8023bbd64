import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { CreditLedger } from './credits.ts';
import { compilePolicy, PolicyEngine, type CheckContext, type CompiledPolicy, type ExactCounter, type PolicyDecision } from './engine.ts';
import { RateLimiter } from './rate-limit.ts';
import { EMPTY_RULES, type PolicyRules } from './rules.ts';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

/** The engine of rules held in memory: its answer is never a promise. */
interface SyncEngine {
  check(policy: CompiledPolicy | null, ctx: CheckContext): PolicyDecision;
}

function setup(rules: Partial<PolicyRules>): { engine: SyncEngine; ledger: CreditLedger; policy: ReturnType<typeof compilePolicy> } {
  const ledger = new CreditLedger({ spend: async (batch) => batch.map(() => null) });
  const inner = new PolicyEngine({ limiter: new RateLimiter({ maxSubjects: 100 }), ledger });
  const engine: SyncEngine = {
    check(policy, ctx) {
      const decision = inner.check(policy, ctx);
      assert.ok(!(decision instanceof Promise), 'rules in memory decide without waiting');
      return decision;
    },
  };
  const policy = compilePolicy('api_token:t1', { ...EMPTY_RULES, ...rules });
  if (policy.credits) ledger.load(policy.key, { remaining: policy.credits.remaining, period: 0 }, policy.credits);
  return { engine, ledger, policy };
}

describe('PolicyEngine', () => {
  it('no policy, or an empty one: allowed with nothing to report', () => {
    const { engine, policy } = setup({});
    assert.deepEqual(engine.check(null, { address: null, now: T0 }), { ok: true, windows: [], creditsLeft: null });
    assert.deepEqual(engine.check(policy, { address: null, scope: 'x', now: T0 }), { ok: true, windows: [], creditsLeft: null });
  });

  it('allow-list: inside allowed, outside and unknown addresses denied', () => {
    const { engine, policy } = setup({ ipAllowList: ['192.0.2.0/24'] });
    assert.equal(engine.check(policy, { address: '192.0.2.10', now: T0 }).ok, true);
    assert.deepEqual(engine.check(policy, { address: '198.51.100.1', now: T0 }), { ok: false, code: 'ip_denied' });
    assert.deepEqual(engine.check(policy, { address: null, now: T0 }), { ok: false, code: 'ip_denied' });
  });

  it('scopes: a required scope the token lacks is refused; none required passes', () => {
    const { engine, policy } = setup({ scopes: ['dns_orders_list'] });
    assert.equal(engine.check(policy, { address: null, scope: 'dns_orders_list', now: T0 }).ok, true);
    assert.deepEqual(engine.check(policy, { address: null, scope: 'dns_orders_create', now: T0 }), { ok: false, code: 'scope_missing', scope: 'dns_orders_create' });
    assert.equal(engine.check(policy, { address: null, now: T0 }).ok, true);
  });

  it('rate limit and credits together: figures reported; a refusal by credits uses up no rate', () => {
    const { engine, policy } = setup({ rateLimits: [{ limit: 3, windowSeconds: 60 }], credits: { remaining: 2, cost: 1, refill: null } });
    const first = engine.check(policy, { address: null, now: T0 });
    assert.deepEqual(first, { ok: true, windows: [{ limit: 3, windowSeconds: 60, remaining: 2, resetSeconds: 20 }], creditsLeft: 1 });
    assert.equal(engine.check(policy, { address: null, now: T0 }).ok, true);
    const broke = engine.check(policy, { address: null, now: T0 });
    assert.equal(broke.ok ? 'ok' : broke.code, 'credits_exhausted');
    // The third slot of the window is still there: the refused check did not take it.
    const withoutCredits = { ...policy, credits: null };
    assert.equal(engine.check(withoutCredits, { address: null, now: T0 }).ok, true);
    const limited = engine.check(withoutCredits, { address: null, now: T0 });
    assert.ok(!limited.ok && limited.code === 'rate_limited');
    assert.equal(limited.retryAfterSeconds, 20);
    assert.deepEqual(limited.window, { limit: 3, windowSeconds: 60, remaining: 0, resetSeconds: 60 });
  });

  it('the place is judged before the rate: a check from outside the list uses up nothing', () => {
    const { engine, policy } = setup({ ipAllowList: ['10.0.0.0/8'], rateLimits: [{ limit: 1, windowSeconds: 60 }], credits: { remaining: 1, cost: 1, refill: null } });
    for (let i = 0; i < 5; i++) assert.equal(engine.check(policy, { address: '8.8.8.8', now: T0 }).ok, false);
    assert.deepEqual(engine.check(policy, { address: '10.1.1.1', now: T0 }), { ok: true, windows: [{ limit: 1, windowSeconds: 60, remaining: 0, resetSeconds: 60 }], creditsLeft: 0 });
  });

  it('a check may name its own cost', () => {
    const { engine, policy } = setup({ credits: { remaining: 10, cost: 1, refill: null } });
    assert.deepEqual(engine.check(policy, { address: null, cost: 7, now: T0 }), { ok: true, windows: [], creditsLeft: 3 });
    assert.equal(engine.check(policy, { address: null, cost: 4, now: T0 }).ok, false);
  });

  it('exact windows: counted by the counter given (the database), fixed windows, at most the limit; other rules still apply', async () => {
    const counts = new Map<string, number>();
    const calls: string[] = [];
    const exact: ExactCounter = async (scope, windowStart, limit) => {
      calls.push(`${scope}@${windowStart}`);
      const key = `${scope}@${windowStart}`;
      const n = counts.get(key) ?? 0;
      if (n >= limit) return null;
      counts.set(key, n + 1);
      return n + 1;
    };
    const engine = new PolicyEngine({ limiter: new RateLimiter({ maxSubjects: 100 }), ledger: new CreditLedger({ spend: async (batch) => batch.map(() => null) }), exact });
    const policy = compilePolicy('api_token:t1', { ...EMPTY_RULES, rateLimits: [{ limit: 2, windowSeconds: 60, exact: true }], ipAllowList: ['192.0.2.0/24'] });
    const at = T0 + 10_000;
    assert.deepEqual(await engine.check(policy, { address: '198.51.100.1', now: at }), { ok: false, code: 'ip_denied' });
    assert.equal(calls.length, 0, 'a check refused in memory never reaches the counter');
    const first = await engine.check(policy, { address: '192.0.2.1', now: at });
    assert.deepEqual(first, { ok: true, windows: [{ limit: 2, windowSeconds: 60, remaining: 1, resetSeconds: 50 }], creditsLeft: null });
    assert.equal((await engine.check(policy, { address: '192.0.2.1', now: at })).ok, true);
    const third = await engine.check(policy, { address: '192.0.2.1', now: at + 1000 });
    assert.equal(third.ok, false);
    assert.equal(!third.ok && third.code, 'rate_limited');
    assert.equal(!third.ok && third.code === 'rate_limited' && third.retryAfterSeconds, 49);
    // The next fixed window starts afresh.
    assert.equal((await engine.check(policy, { address: '192.0.2.1', now: T0 + 60_000 })).ok, true);
    assert.deepEqual(new Set(calls.map((c) => c.split('@')[0])), new Set(['policy:api_token:t1:60']));
  });
});
