import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { WireReply } from './dialect.ts';
import { chatappFailure } from './dialects/chatapp/envelope.ts';
import { hosterFailure } from './dialects/hoster/envelope.ts';
import { DIALECTS } from './dialects/index.ts';
import { invoiceboxFailure } from './dialects/invoicebox/envelope.ts';
import { FAILURES, failureCodes, failureNames, type FailureKind, type GenericFailure } from './failures.ts';
import { nativeFailure } from './native/envelope.ts';
import { oauthFailure } from './native/oauth2.ts';

const KINDS = Object.keys(FAILURES) as FailureKind[];

function sample(kind: FailureKind): GenericFailure {
  return kind === 'validation' ? { kind, fields: [{ name: 'email', code: 'required', message: 'is required' }] } : { kind };
}

describe('the table of framework failures', () => {
  it('every surface answers each failure with the status of the table, and Retry-After when asked', () => {
    const surfaces: [string, (f: GenericFailure, lang: 'en' | 'ru', retry?: number) => WireReply][] = [
      ['chatapp', chatappFailure],
      ['hoster', hosterFailure],
      ['invoicebox', invoiceboxFailure],
      ['native', nativeFailure],
      ['oauth', oauthFailure],
    ];
    for (const [name, render] of surfaces) {
      for (const kind of KINDS) {
        const wire = render(sample(kind), 'en', 7);
        assert.equal(wire.status, FAILURES[kind].status, `${name} ${kind}`);
        assert.equal(wire.headers?.['retry-after'], '7', `${name} ${kind}`);
      }
    }
  });

  it('every dialect has exactly one code per failure, with the status of the table', () => {
    for (const { dialect } of DIALECTS) {
      const kinds = Object.values(dialect.codes).flatMap((spec) => ('kind' in spec ? [spec.kind] : []));
      assert.deepEqual([...kinds].sort(), [...KINDS].sort(), dialect.name);
      for (const spec of Object.values(dialect.codes)) {
        if (!('kind' in spec)) continue;
        assert.equal(spec.status, FAILURES[spec.kind as FailureKind].status, `${dialect.name} ${String(spec.kind)}`);
      }
    }
  });

  it('a surface may rename a failure and keep its own words; the status is always the table\'s', () => {
    const codes = failureCodes({ not_found: { code: 'route_not_found', en: 'Route not found' } });
    assert.deepEqual(Object.keys(codes).sort(), [...KINDS.filter((k) => k !== 'not_found').map((k) => FAILURES[k].code), 'route_not_found'].sort());
    assert.equal(codes.route_not_found.en, 'Route not found');
    assert.equal(codes.route_not_found.ru, FAILURES.not_found.ru);
    assert.equal(codes.route_not_found.status, 404);
    assert.equal(failureNames(codes).not_found, 'route_not_found');
  });

  it('a table that gives one failure two codes fails at startup', () => {
    const codes = { ...failureCodes({}), also_not_found: { ...FAILURES.not_found, kind: 'not_found' as const } };
    assert.throws(() => failureNames(codes), /not_found has two codes/);
  });
});
