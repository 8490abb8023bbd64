import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { isNativeToken, newToken, parseNativeToken, TOKEN_PREFIXES, tokenHint, type TokenKind } from './tokens.ts';
import { constantTimeEqual, sha256Hex } from './hash.ts';

describe('native token format', () => {
  it('is <prefix>_<27 base62><6 base62 checksum>, prefix per kind', () => {
    for (const kind of Object.keys(TOKEN_PREFIXES) as TokenKind[]) {
      const t = newToken(kind);
      assert.match(t.token, new RegExp(`^${TOKEN_PREFIXES[kind]}_[0-9A-Za-z]{33}$`));
      assert.equal(parseNativeToken(t.token), kind);
      assert.equal(t.hash, sha256Hex(t.token));
      assert.ok(!t.hint.includes(t.token.slice(8, -4)), 'the hint must not reveal the body');
    }
  });

  it('carries at least 128 random bits: no repeats, every character position varies', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(newToken('access').token);
    assert.equal(seen.size, 2000);
    // 27 base62 characters carry 160 bits; the leading one may be small (0-padding), the rest vary.
    const firsts = new Set([...seen].map((t) => t[5]));
    assert.ok(firsts.size > 30);
  });

  it('rejects every single-character change and truncation before any lookup', () => {
    const { token } = newToken('refresh');
    for (let i = 4; i < token.length; i++) {
      const c = token[i] === 'a' ? 'b' : 'a';
      const mutated = token.slice(0, i) + c + token.slice(i + 1);
      assert.equal(parseNativeToken(mutated), null, `mutation at ${i} passed the checksum`);
    }
    assert.equal(parseNativeToken(token.slice(0, -1)), null);
    assert.equal(parseNativeToken(token + 'x'), null);
    assert.equal(parseNativeToken('tdx' + token.slice(3)), null);
    assert.equal(isNativeToken(token, 'access'), false);
    assert.equal(parseNativeToken(''), null);
    assert.equal(parseNativeToken('тда_' + token.slice(4)), null);
  });

  it('hints show start and last 4 only', () => {
    const { token } = newToken('apiToken');
    assert.equal(tokenHint(token), `${token.slice(0, 7)}…${token.slice(-4)}`);
  });

  it('compares in constant time and by value', () => {
    assert.equal(constantTimeEqual('abc', 'abc'), true);
    assert.equal(constantTimeEqual('abc', 'abd'), false);
    assert.equal(constantTimeEqual('abc', 'abcd'), false);
  });
});
