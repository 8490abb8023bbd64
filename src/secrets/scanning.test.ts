import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
// Through the package's own name and "exports", as a scanner would import it.
import { identifySecret, SECRET_PATTERNS, TOKEN_PREFIXES, validateTokenChecksum, type TokenKind } from 'tokend';
import { newHex128, newToken } from './tokens.ts';

const ROOT = new URL('../../', import.meta.url);

/** [id, regex] of every [[rules]] block in .gitleaks.toml (the file is simple enough for this). */
function gitleaksRules(): Map<string, string> {
  const text = readFileSync(new URL('.gitleaks.toml', ROOT), 'utf8');
  const rules = new Map<string, string>();
  for (const block of text.split('[[rules]]').slice(1)) {
    const id = /^id = "([^"]+)"/m.exec(block)?.[1];
    const regex = /^regex = '''(.*)'''$/m.exec(block)?.[1];
    assert.ok(id && regex, `a [[rules]] block without id or regex:\n${block}`);
    rules.set(id, regex);
  }
  return rules;
}

describe('secret scanning', () => {
  it('validateTokenChecksum names the kind of every native token, offline', () => {
    for (const kind of Object.keys(TOKEN_PREFIXES) as TokenKind[]) {
      const { token } = newToken(kind);
      assert.equal(validateTokenChecksum(token), kind);
      assert.deepEqual(identifySecret(token), { format: 'native', kind });
    }
  });

  it('validateTokenChecksum drops look-alikes: any changed character, a truncation, another prefix', () => {
    const { token } = newToken('apiToken');
    for (let i = 0; i < token.length; i++) {
      if (token[i] === '_') continue;
      const c = token[i] === 'a' ? 'b' : 'a';
      assert.equal(validateTokenChecksum(token.slice(0, i) + c + token.slice(i + 1)), null, `position ${i}`);
    }
    assert.equal(validateTokenChecksum(token.slice(0, -1)), null);
    assert.equal(validateTokenChecksum(`${token}0`), null);
    assert.equal(validateTokenChecksum(`tdz${token.slice(3)}`), null);
    assert.equal(validateTokenChecksum(''), null);
    assert.equal(validateTokenChecksum(`tdo_${'A'.repeat(33)}`), null);
  });

  it('identifySecret tells the compatibility formats by shape, and a tokend JWT by its header', () => {
    const hex = newHex128();
    assert.deepEqual(identifySecret(hex), { format: 'v3' });
    assert.deepEqual(identifySecret(`42-API:${hex}`), { format: 'l3', accountId: 42 });
    assert.equal(identifySecret(hex.toUpperCase()), null);
    assert.equal(identifySecret(`0-API:${hex}`), null);
    const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const ours = `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' })}.${b64({ sub: '1' })}.${'s'.repeat(40)}`;
    assert.deepEqual(identifySecret(ours), { format: 'jwt', typ: 'at+jwt', kid: 'k1' });
    assert.equal(identifySecret(`${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: '1' })}.${'s'.repeat(40)}`), null);
  });

  it('each pattern finds its secret in the places secrets end up, and captures exactly the secret', () => {
    const samples = new Map<string, string>();
    for (const kind of Object.keys(TOKEN_PREFIXES) as TokenKind[]) samples.set(`tokend-${TOKEN_PREFIXES[kind]}`, newToken(kind).token);
    samples.set('tokend-l3-api-token', `29078-API:${newHex128()}`);
    samples.set('tokend-v3-api-token', newHex128());
    const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    samples.set('tokend-access-jwt', `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid: 'abc' })}.${b64({ iss: 'tokend', sub: '7', scope: 'x' })}.${'Q'.repeat(86)}`);
    assert.deepEqual([...samples.keys()].sort(), SECRET_PATTERNS.map((p) => p.id).sort());
    for (const p of SECRET_PATTERNS) {
      const secret = samples.get(p.id)!;
      for (const context of [`Authorization: Bearer ${secret}\n`, `TOKEND_TOKEN="${secret}"`, `{"token": "${secret}"}`, `curl -H 'Authorization: Bearer ${secret}'`]) {
        const m = new RegExp(p.regex).exec(context);
        assert.ok(m, `${p.id} misses ${context}`);
        assert.equal(m[1], secret, `${p.id} captures ${m[1]}`);
        assert.ok(p.keywords.some((k) => context.toLowerCase().includes(k)), `${p.id}: no keyword in ${context}`);
      }
    }
    // The v3 rule needs context: a bare hash in a lock file is not a token.
    assert.equal(new RegExp(SECRET_PATTERNS.find((p) => p.id === 'tokend-v3-api-token')!.regex).exec(`"integrity": "${newHex128()}"`), null);
  });

  it('.gitleaks.toml and docs/secret-scanning.md carry exactly these patterns', () => {
    const rules = gitleaksRules();
    assert.deepEqual([...rules.keys()].sort(), SECRET_PATTERNS.map((p) => p.id).sort());
    for (const p of SECRET_PATTERNS) assert.equal(rules.get(p.id), p.regex, `.gitleaks.toml rule ${p.id}`);
    const doc = readFileSync(new URL('docs/secret-scanning.md', ROOT), 'utf8');
    for (const p of SECRET_PATTERNS) {
      assert.ok(doc.includes(p.id), `docs/secret-scanning.md does not name ${p.id}`);
      assert.ok(doc.includes(p.regex), `docs/secret-scanning.md does not show the regex of ${p.id}: ${p.regex}`);
    }
  });
});
