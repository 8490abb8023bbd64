import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../errors.ts';
import { applyExpiryRules, clampExpiry, validateRules, type PolicyInput, type SubjectKind } from './rules.ts';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const PERMS = new Set(['dns_orders_list', 'dns_orders_create']);

function fieldOf(kind: SubjectKind, input: PolicyInput): string {
  try {
    validateRules(kind, input, PERMS);
  } catch (error) {
    assert.ok(error instanceof InvalidInputError);
    return error.field;
  }
  return '(accepted)';
}

describe('policy rules', () => {
  it('accepts every rule and normalises it', () => {
    const rules = validateRules(
      'api_token',
      {
        rateLimits: [{ limit: 10000, windowSeconds: 86400 }, { limit: 100, windowSeconds: 1 }],
        credits: { remaining: 1000, refill: { amount: 1000, interval: 'monthly' } },
        ipAllowList: [' 10.0.0.0/8 ', '2001:0db8::/32'],
        scopes: ['dns_orders_list', 'dns_orders_list'],
      },
      PERMS,
    );
    assert.deepEqual(rules, {
      rateLimits: [{ limit: 100, windowSeconds: 1 }, { limit: 10000, windowSeconds: 86400 }],
      credits: { remaining: 1000, cost: 1, refill: { amount: 1000, interval: 'monthly' } },
      ipAllowList: ['10.0.0.0/8', '2001:db8::/32'],
      scopes: ['dns_orders_list'],
      expiry: null,
    });
  });

  it('names the field of each nonsense rule', () => {
    assert.equal(fieldOf('app', { rateLimits: [{ limit: 10, windowSeconds: 0 }] }), 'rateLimits[0].windowSeconds');
    assert.equal(fieldOf('app', { rateLimits: [{ limit: 0, windowSeconds: 1 }] }), 'rateLimits[0].limit');
    assert.equal(fieldOf('app', { rateLimits: [{ limit: 1.5, windowSeconds: 1 }] }), 'rateLimits[0].limit');
    assert.equal(fieldOf('app', { rateLimits: [{ limit: 1, windowSeconds: 60 }, { limit: 2, windowSeconds: 60 }] }), 'rateLimits[1].windowSeconds');
    assert.equal(fieldOf('app', { credits: { remaining: 5, cost: -1 } }), 'credits.cost');
    assert.equal(fieldOf('app', { credits: { remaining: -5 } }), 'credits.remaining');
    assert.equal(fieldOf('app', { credits: { remaining: 5, refill: { amount: 0, interval: 'daily' } } }), 'credits.refill.amount');
    assert.equal(fieldOf('app', { credits: { remaining: 5, refill: { amount: 5, interval: 'hourly' as 'daily' } } }), 'credits.refill.interval');
    assert.equal(fieldOf('service_key', { ipAllowList: ['10.0.0.1', '10.0.0.0/33'] }), 'ipAllowList[1]');
    assert.equal(fieldOf('service_key', { ipAllowList: ['2001:db8:::/48'] }), 'ipAllowList[0]');
    assert.equal(fieldOf('api_token', { scopes: ['dns_orders_delete'] }), 'scopes[0]');
    assert.equal(fieldOf('api_token', { scopes: ['has space'] }), 'scopes[0]');
    assert.equal(fieldOf('app', { scopes: ['dns_orders_list'] }), 'scopes');
    assert.equal(fieldOf('api_token', { expiry: { maxLifetimeSeconds: 3600 } }), 'expiry');
    assert.equal(fieldOf('account', { rateLimits: [{ limit: 1, windowSeconds: 1 }] }), 'rateLimits');
    assert.equal(fieldOf('account', { expiry: { maxLifetimeSeconds: 0 } }), 'expiry.maxLifetimeSeconds');
  });

  it('expiry rules at creation: the stricter of instance and account; required means required', () => {
    const instance = { maxLifetimeSeconds: 90 * 86400, required: false };
    const account = { maxLifetimeSeconds: 30 * 86400, required: true };
    assert.equal(applyExpiryRules([instance, null], null, T0, 'expiresAt'), null);
    assert.equal(applyExpiryRules([instance, account], T0 + 86400_000, T0, 'expiresAt'), T0 + 86400_000);
    assert.throws(() => applyExpiryRules([instance, account], null, T0, 'expiresAt'), (e: unknown) => e instanceof InvalidInputError && e.field === 'expiresAt');
    assert.throws(() => applyExpiryRules([instance, account], T0 + 31 * 86400_000, T0, 'expiresInDays'), (e: unknown) => e instanceof InvalidInputError && e.field === 'expiresInDays');
    assert.equal(applyExpiryRules([instance, null], T0 + 90 * 86400_000, T0, 'expiresAt'), T0 + 90 * 86400_000);
  });

  it('expiry rules at rotation: cut to the maximum, never refused', () => {
    const rule = { maxLifetimeSeconds: 3600, required: true };
    assert.equal(clampExpiry([rule], null, T0), T0 + 3600_000);
    assert.equal(clampExpiry([rule], T0 + 7200_000, T0), T0 + 3600_000);
    assert.equal(clampExpiry([rule], T0 + 60_000, T0), T0 + 60_000);
    assert.equal(clampExpiry([null], null, T0), null);
  });
});
