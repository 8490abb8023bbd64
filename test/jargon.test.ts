/**
 * What a user reads speaks of tokend, not of the papers it was built from. The README, docs/,
 * client/README.md, the Markdown of bench/ and examples/, the console's sources and its build
 * (console/dist, when built) must not cite the internal contract document, the numbered source
 * documents or tracker issues: a reader has none of them. State the rule itself, or point to a file in docs/.
 *
 * The rules, precisely (each with the uses it must leave alone, checked below):
 * - `SPEC` as an upper-case word ("SPEC 4", "(SPEC 3.2)"). Lower-case "spec" is ordinary English
 *   (an OpenAPI spec, wrk's spec file) and stays.
 * - "seed" with a three-digit, zero-led number ("seed 002", "Seed 000's"): the numbering of the
 *   source documents. Name the document instead: "the Invoicebox documentation".
 * - "seed" as a noun for those documents: the possessive ("the seed's body", "the seeds'
 *   examples") and the plural after a determiner ("the seeds", "all three seeds"). The verb stays
 *   ("`--demo` seeds published credentials", "Seed the demo sandbox"), and so does the fuzz pass's
 *   random seed ("seed 1032171771", "a fresh seed", "the same seed").
 * - A tracker issue: "issue 5", "issue #9", "issues 5 and 9". "a public issue" stays. In Markdown,
 *   a bare "#14" after a space or a parenthesis too (not in CSS or scripts, where `#000` is a colour).
 */
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = new URL('..', import.meta.url).pathname;

interface Rule {
  name: string;
  pattern: RegExp;
  /** Only in these file kinds (extensions); all when absent. */
  only?: readonly string[];
}

const RULES: readonly Rule[] = [
  { name: 'the contract document ("SPEC")', pattern: /\bSPEC\b/g },
  { name: 'a numbered source document ("seed 00N")', pattern: /\bseeds?\s*0\d{2}\b/gi },
  { name: 'a source document as "seed" (possessive)', pattern: /\bseed(?:'s|s')/gi },
  { name: 'the source documents as "the seeds"', pattern: /\b(?:the|all|three|these|those|both)\s+seeds\b/gi },
  { name: 'a tracker issue ("issue N")', pattern: /\bissues?\s+#?\d+/gi },
  { name: 'a tracker reference ("#N")', pattern: /(?:^|[\s(])#\d+\b/gm, only: ['.md'] },
];

const TEXT = new Set(['.md', '.ts', '.tsx', '.js', '.mjs', '.css', '.html', '.svg', '.json']);

/** Every text file under `dir` (recursively), skipping node_modules. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else if (TEXT.has(extname(entry))) out.push(path);
  }
  return out;
}

/** Each hit as `file:line: rule: "excerpt"`. */
function hits(name: string, text: string): string[] {
  const found: string[] = [];
  for (const rule of RULES) {
    if (rule.only && !rule.only.includes(extname(name))) continue;
    for (const m of text.matchAll(rule.pattern)) {
      const line = text.slice(0, m.index).split('\n').length;
      const at = m.index + m[0].length;
      found.push(`${name}:${line}: ${rule.name}: "${text.slice(Math.max(0, m.index - 30), at + 30).replace(/\s+/g, ' ').trim()}"`);
    }
  }
  return found;
}

describe('no internal jargon in what a user reads', () => {
  it('the rules flag the internal references and leave ordinary English alone', () => {
    const bad = [
      'That is the documented bound of SPEC 4.',
      'Seed the demo sandbox (SPEC 3.4).',
      "Seed 002's example works as written.",
      'Lifetime of a ChatApp access token (seed 000: 24 hours).',
      "clients compare the seed's body exactly",
      "so that the seeds' examples work",
      'All three seeds send their users to a cabinet.',
      'holds tokens the way the seeds ask',
      'Several processes behave as one (issue 5).',
      'see issue #14',
    ];
    for (const text of bad) assert.notDeepEqual(hits('x.md', text), [], `not flagged: ${text}`);
    assert.notDeepEqual(hits('x.md', 'Fixed in #14.'), []);

    const good = [
      '`npm start` seeds a demo service account whose published keys the flow uses.',
      '`--demo` seeds published, well-known credentials.',
      'Seed the demo sandbox with published, well-known credentials.',
      'long pass (`npm run fuzz`, seed 1032171771); a fresh seed each time; the same seed replays it.',
      'The OpenAPI spec is generated; wrk reads its spec file.',
      'Please report it privately, not in a public issue or pull request.',
      'The Invoicebox documentation\'s example works as written.',
      '## Tests',
    ];
    for (const text of good) assert.deepEqual(hits('x.md', text), [], text);
    // A colour in a stylesheet or a script is not a reference.
    assert.deepEqual(hits('x.css', '.backdrop { background: #00000080; color: #123 }'), []);
  });

  it('README.md, docs/, client/README.md, bench/ and examples/ Markdown, the console (sources and build) have none', () => {
    const files = [
      join(ROOT, 'README.md'),
      join(ROOT, 'client', 'README.md'),
      ...filesUnder(join(ROOT, 'docs')),
      ...filesUnder(join(ROOT, 'bench')).filter((f) => extname(f) === '.md'),
      ...filesUnder(join(ROOT, 'examples')).filter((f) => extname(f) === '.md'),
      join(ROOT, 'console', 'index.html'),
      ...filesUnder(join(ROOT, 'console', 'src')),
      ...filesUnder(join(ROOT, 'console', 'public')),
      ...filesUnder(join(ROOT, 'console', 'dist')),
    ].filter((f) => existsSync(f));
    assert.ok(files.length > 10, `too few files found to mean anything: ${files.length}`);
    const found = files.flatMap((f) => hits(relative(ROOT, f), readFileSync(f, 'utf8')));
    assert.deepEqual(found, [], `say the rule itself or point to docs/ instead:\n${found.join('\n')}`);
  });
});
