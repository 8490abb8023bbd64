import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ErrorCodeSpec } from '../src/http/dialect.ts';
import { DIALECTS } from '../src/http/dialects/index.ts';
import { NATIVE_CODES } from '../src/http/native/envelope.ts';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

function checkDocumented(surface: string, codes: Readonly<Record<string, ErrorCodeSpec>>): void {
  for (const [code, spec] of Object.entries(codes)) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`) && line.includes(`| ${spec.status} |`));
    assert.ok(row, `${surface}: code ${code} (HTTP ${spec.status}) is not documented in docs/errors.md`);
  }
}

describe('docs/errors.md', () => {
  for (const { dialect } of DIALECTS) {
    it(`documents every ${dialect.name} code with its status`, () => checkDocumented(dialect.name, dialect.codes));
  }
  it('documents every native code with its status', () => checkDocumented('native', NATIVE_CODES));

  it('documents no code that does not exist', () => {
    const known = new Set<string>([...DIALECTS.flatMap(({ dialect }) => Object.keys(dialect.codes)), ...Object.keys(NATIVE_CODES)]);
    for (const m of doc.matchAll(/^\| `([A-Za-z_]+)` \| \d{3} \|/gm)) assert.ok(known.has(m[1]!), `docs/errors.md lists unknown code ${m[1]}`);
  });

  it('every code has an English and a Russian message', () => {
    for (const codes of [...DIALECTS.map(({ dialect }) => dialect.codes), NATIVE_CODES]) {
      for (const [code, spec] of Object.entries(codes)) {
        assert.ok(spec.en.length > 0 && spec.ru.length > 0, code);
        assert.ok(spec.status >= 400 && spec.status < 600, code);
      }
    }
  });
});
