/**
 * The SDK's error table mirrors tokend's public error codes (docs/errors.md, itself checked against
 * the dialects' code tables by test/errors-doc.test.ts): same codes, same statuses, per dialect.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  API_ERROR_CODES,
  apiError,
  InvalidTokenError,
  QuotaExceededError,
  RefreshTokenRejectedError,
  TokendError,
  type ApiDialect,
} from '../client/src/index.ts';
import type { ErrorCodeSpec } from '../src/http/dialect.ts';
import { DIALECTS } from '../src/http/dialects/index.ts';
import { NATIVE_CODES } from '../src/http/native/envelope.ts';

const SERVER: Record<string, Readonly<Record<string, ErrorCodeSpec>>> = {
  ...Object.fromEntries(DIALECTS.map(({ dialect }) => [dialect.name, dialect.codes])),
  native: NATIVE_CODES,
};

describe('SDK error codes', () => {
  for (const [dialect, codes] of Object.entries(SERVER)) {
    it(`${dialect}: the SDK knows every code tokend sends, with its status, and no other`, () => {
      const client = API_ERROR_CODES[dialect as ApiDialect];
      assert.ok(client, `the SDK has no table for dialect ${dialect}`);
      for (const [code, spec] of Object.entries(codes)) {
        assert.equal(client[code]?.status, spec.status, `${dialect} ${code}: HTTP ${spec.status} in tokend`);
      }
      for (const code of Object.keys(client)) assert.ok(Object.hasOwn(codes, code), `${dialect} ${code} is not a tokend code`);
    });
  }

  it('every code becomes a TokendError subclass carrying the wire code', () => {
    for (const [dialect, table] of Object.entries(API_ERROR_CODES)) {
      for (const [code, { status }] of Object.entries(table)) {
        const error = apiError(code, { dialect: dialect as ApiDialect, status, message: 'm', retryAfterSeconds: 10, now: 0 });
        assert.ok(error instanceof TokendError);
        assert.equal(error.code, code);
        assert.equal(error.status, status);
        assert.equal(error.retryAt?.getTime(), 10_000);
      }
    }
    assert.ok(apiError('ApiInvalidTokenError', { dialect: 'chatapp', status: 401, message: '' }) instanceof InvalidTokenError);
    assert.ok(apiError('refresh_token_expired', { dialect: 'hoster', status: 401, message: '' }) instanceof RefreshTokenRejectedError);
    const quota = apiError('ApiTokensLimitError', { dialect: 'chatapp', status: 429, message: '' });
    assert.ok(quota instanceof QuotaExceededError);
    assert.ok(quota.retryAt instanceof Date, 'a limit always says when to retry');
  });

  it('runs in browsers: outside the file store, the SDK imports only jose and itself, and no Node global', () => {
    const root = new URL('../client/src/', import.meta.url).pathname;
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && f !== 'file-store.ts');
    assert.ok(files.length > 5);
    for (const file of files) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)[^'"]*from\s+'([^']+)'/gm)) {
        assert.ok(m[1] === 'jose' || m[1]!.startsWith('./') || m[1]!.startsWith('../'), `${file} imports ${m[1]}`);
      }
      assert.doesNotMatch(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''), /\b(process|Buffer|require)\b[.(]/, `${file} uses a Node global`);
    }
  });
});
