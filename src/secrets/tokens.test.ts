import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { base62Random, isNativeToken, nativeTokenFromBody, newToken, parseNativeToken, TOKEN_PREFIXES, tokenHint, type TokenKind } from './tokens.ts';
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

  it('writes the random part and the checksum as it always did (tokens issued before stay valid)', () => {
    // The 160 random bits in base62, by BigInt arithmetic: what the encoding must equal.
    const reference = (bytes: Buffer): string => {
      const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
      let v = BigInt('0x' + bytes.toString('hex'));
      let out = '';
      while (v > 0n) {
        out = alphabet[Number(v % 62n)] + out;
        v /= 62n;
      }
      return out.padStart(27, '0');
    };
    const edges = [Buffer.alloc(20, 0), Buffer.alloc(20, 0xff), Buffer.from('0000000000000000000000000000000000000001', 'hex'), Buffer.from('8000000000000000000000000000000000000000', 'hex')];
    for (const bytes of [...edges, ...Array.from({ length: 2000 }, () => randomBytes(20))]) assert.equal(base62Random(bytes), reference(bytes), bytes.toString('hex'));
    // Checksums computed by the encoding tokend shipped with (pinned).
    assert.equal(nativeTokenFromBody('secretKey', '000000000000000000000000000'), 'tds_00000000000000000000000000041hhCl');
    assert.equal(nativeTokenFromBody('refresh', '000000000000000000000000000'), 'tdr_0000000000000000000000000003NxW8t');
    assert.equal(nativeTokenFromBody('secretKey', 'zzzzzzzzzzzzzzzzzzzzzzzzzzz'), 'tds_zzzzzzzzzzzzzzzzzzzzzzzzzzz1omOuh');
    assert.equal(nativeTokenFromBody('refresh', 'zzzzzzzzzzzzzzzzzzzzzzzzzzz'), 'tdr_zzzzzzzzzzzzzzzzzzzzzzzzzzz00MuZL');
    assert.equal(nativeTokenFromBody('secretKey', 'AbCdEfGhIjKlMnOpQrStUvWxYz0'), 'tds_AbCdEfGhIjKlMnOpQrStUvWxYz02PlHdg');
    assert.equal(nativeTokenFromBody('refresh', '0123456789abcdefghijABCDEFG'), 'tdr_0123456789abcdefghijABCDEFG2ZwIme');
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
