/**
 * Every string of the console in both languages: no key missing, none left in English where it
 * should be Russian, the same placeholders on both sides, every key the pages use defined, and a
 * Russian description for every setting the server has (named when missing, so a new setting
 * cannot slip through untranslated).
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DICTIONARIES } from '../console/src/i18n.ts';
import { AUDIT_TYPES } from '../console/src/audit-types.ts';
import { PERMISSION_AREAS as CONSOLE_AREAS } from '../console/src/permissions.ts';
import { SETTING_DOCS_RU } from '../console/src/settings-ru.ts';
import { PERMISSION_AREAS } from '../src/http/native/admin/access.ts';
import { SETTINGS } from '../src/config/schema.ts';

const SRC = fileURLToPath(new URL('../console/src/', import.meta.url));

/** Names and identifiers, the same in every language. */
const SAME_IN_BOTH = new Set([
  'app.name',
  'apps.appId',
  'sa.accessKey',
  'sa.secretKey',
  'sessions.client',
  'sessions.client.appId',
  'sessions.client.accessKey',
  'event.login.succeeded',
]);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
}

const CYRILLIC = /[А-Яа-яЁё]/;

describe('console translations', () => {
  const { en, ru } = DICTIONARIES;

  it('every key has a non-empty text in both languages', () => {
    const missing = Object.keys(en).filter((k) => !ru[k as keyof typeof ru]?.trim() || !en[k as keyof typeof en]?.trim());
    const extra = Object.keys(ru).filter((k) => !(k in en));
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
  });

  it('no Russian text is left in English (except names that are the same in both)', () => {
    const untranslated = Object.keys(en).filter((k) => {
      const key = k as keyof typeof en;
      return !SAME_IN_BOTH.has(k) && (en[key] === ru[key] || (/[A-Za-z]{4}/.test(ru[key]) && !CYRILLIC.test(ru[key])));
    });
    assert.deepEqual(untranslated, [], `untranslated keys:\n${untranslated.join('\n')}`);
    const stale = [...SAME_IN_BOTH].filter((k) => !(k in en));
    assert.deepEqual(stale, [], 'the list of names names keys that no longer exist');
  });

  it('both languages have the same placeholders', () => {
    const differ = Object.keys(en).filter((k) => {
      const key = k as keyof typeof en;
      return placeholders(en[key]).join() !== placeholders(ru[key]).join();
    });
    assert.deepEqual(differ, []);
  });

  it('every key the pages ask for is defined', () => {
    const used = new Set<string>();
    for (const file of sources(SRC)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bt\(\s*'([a-zA-Z0-9_.]+)'/g)) used.add(m[1]!);
    }
    assert.ok(used.size > 100, `only ${used.size} keys found: the pattern no longer matches the pages`);
    const undefinedKeys = [...used].filter((k) => !(k in en));
    assert.deepEqual(undefinedKeys, [], `keys used but not defined:\n${undefinedKeys.join('\n')}`);
  });

  it("the operator-key picker offers the server's permission areas, each with a label", () => {
    assert.deepEqual([...CONSOLE_AREAS].sort(), [...PERMISSION_AREAS].sort(), 'console/src/permissions.ts differs from the server\'s areas');
    const unlabelled = CONSOLE_AREAS.filter((a) => !(`opkeys.area.${a}` in en));
    assert.deepEqual(unlabelled, [], 'areas without a label in console/src/i18n.ts');
  });

  it("the audit filter lists core's audit entry types, each with a label", () => {
    // AuditType is a type (no list at run time): its literals are read from its declaration.
    const model = readFileSync(fileURLToPath(new URL('../src/core/model.ts', import.meta.url)), 'utf8');
    const union = /export type AuditType =([^;]+);/.exec(model)?.[1] ?? '';
    const core = [...union.matchAll(/'([a-z_.]+)'/g)].map((m) => m[1]!);
    assert.ok(core.length > 20, 'AuditType was not found in src/core/model.ts');
    assert.deepEqual([...AUDIT_TYPES].sort(), [...core].sort(), 'console/src/audit-types.ts differs from AuditType');
    const unlabelled = AUDIT_TYPES.filter((type) => !(`event.${type}` in en));
    assert.deepEqual(unlabelled, [], 'audit types without a label in console/src/i18n.ts');
  });

  it('every setting has a Russian description, and every description a setting', () => {
    const names = Object.values(SETTINGS).map((s) => s.env);
    const missing = names.filter((env) => !SETTING_DOCS_RU[env]?.trim());
    const stale = Object.keys(SETTING_DOCS_RU).filter((env) => !names.includes(env));
    assert.deepEqual(missing, [], `settings without a Russian description in console/src/settings-ru.ts:\n${missing.join('\n')}`);
    assert.deepEqual(stale, [], `descriptions in console/src/settings-ru.ts of settings that no longer exist:\n${stale.join('\n')}`);
    const english = Object.values(SETTINGS).filter((s) => SETTING_DOCS_RU[s.env] === s.doc || !CYRILLIC.test(SETTING_DOCS_RU[s.env] ?? ''));
    assert.deepEqual(english.map((s) => s.env), [], 'descriptions left in English');
    const unbalanced = Object.entries(SETTING_DOCS_RU).filter(([, text]) => (text.match(/`/g) ?? []).length % 2 === 1);
    assert.deepEqual(unbalanced.map(([env]) => env), [], 'a backtick without its pair would show literally');
  });
});
