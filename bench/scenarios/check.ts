/**
 * Invoicebox check (GET /v3/security/api/auth/auth, a valid v3 token, SQLite with the big token
 * count stored) against a bare Fastify route answering the same JSON (the floor), and against
 * node-oidc-provider introspecting its own opaque tokens (RFC 7662). And against itself with
 * metrics off (TOKEND_METRICS=false, a second process on the same database): what counting every
 * request for /metrics costs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { compare, type Context, type ScenarioResult } from '../lib/context.ts';
import { interleaved } from '../lib/measure.ts';
import { oidcIntrospectRequest, oidcTokens, send, specTarget, startFloor, startOidc, withCpu } from '../lib/peers.ts';
import { freePort, memoryOf } from '../lib/procs.ts';
import { startTokend } from '../lib/tokend.ts';
import { runWrk, type SpecRequest } from '../lib/wrk.ts';
import type { Target } from '../lib/measure.ts';

export const CHECK_PATH = '/v3/security/api/auth/auth';

export function checkRequests(tokens: readonly string[]): SpecRequest[] {
  return tokens.map((t) => ({ method: 'GET', path: CHECK_PATH, headers: { Authorization: `Bearer ${t}` } }));
}

export async function checkScenario(ctx: Context): Promise<ScenarioResult> {
  const { p } = ctx;
  // Its own oidc-provider process: the memory adapter is an LRU of 1000 entries, so nothing else may issue tokens there.
  const [{ fixture, server: tokend }, floor, oidc] = await Promise.all([ctx.big(), startFloor(ctx.work).then(ctx.own), startOidc(ctx.work, 'oidc-introspect').then(ctx.own)]);
  const oidcWorkingSet = Math.min(p.workingSet, p.mode === 'quick' ? 200 : 500);
  const oidcSet = await oidcTokens(oidc, oidcWorkingSet);

  const bare = ctx.own(await startTokend({ name: 'tokend-big-nometrics', dir: fixture.dir, port: await freePort(), env: { TOKEND_METRICS: 'false' } }));
  const ours = checkRequests(fixture.v3Tokens.slice(0, p.workingSet));
  const ruled = checkRequests(fixture.policyTokens.slice(0, p.workingSet));
  const theirs = oidcSet.map(oidcIntrospectRequest);
  // Every target must answer what it is measured answering: a valid token, not a cheap refusal.
  const mine = await send(tokend.url, ours[0]!);
  if (mine.status !== 200 || !/"userId":"[0-9a-f-]{36}"/.test(mine.text)) throw new Error(`tokend check answered ${mine.status} ${mine.text}`);
  const peer = await send(oidc.url, theirs[0]!);
  if (peer.status !== 200 || !peer.text.includes('"active":true')) throw new Error(`oidc-provider introspection answered ${peer.status} ${peer.text}`);
  const withRules = await send(tokend.url, ruled[0]!);
  const sameShape = (text: string): string => text.replace(/"userId":"[^"]*"/, '"userId":""');
  if (withRules.status !== 200 || sameShape(withRules.text) !== sameShape(mine.text) || !withRules.headers.get('ratelimit')) {
    throw new Error(`tokend check with rules answered ${withRules.status} ${withRules.text} (RateLimit: ${withRules.headers.get('ratelimit')})`);
  }
  const fl = await send(floor.url, ours[0]!);
  if (fl.status !== 200 || fl.text.length !== mine.text.length) throw new Error(`floor answered ${fl.status} ${fl.text}`);

  // Random tokens: wait until the API-token filter has loaded every stored token (the server
  // answers meanwhile, looking unknown ones up), then read its load time and size from the log.
  const filter = await filterLoaded(tokend.url, tokend.logFile);
  const jwks = JSON.parse((await send(tokend.url, { method: 'GET', path: '/.well-known/jwks.json' })).text) as { keys: { kid: string; alg: string }[] };
  const key = jwks.keys[0]!;
  const jwtHeader = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })).toString('base64url');
  const account = String(fixture.accounts[0]!.id);
  for (const probe of [{ method: 'GET', path: CHECK_PATH, headers: { Authorization: `Bearer ${'ab'.repeat(16)}` } }]) {
    const r = await send(tokend.url, probe);
    if (r.status !== 401) throw new Error(`tokend answered ${r.status} to an unknown token: ${r.text}`);
  }

  const c = p.connections;
  const targets = [
    randomTokensTarget({ key: 'random', label: 'tokend check, a new random token of each format per request', url: tokend.url, connections: c, pid: tokend.pid, account, jwtHeader }),
    specTarget({ key: 'tokend', label: `tokend check (${fixture.storedApiTokens.toLocaleString('en-US')} stored)`, url: tokend.url, specFile: join(ctx.work, 'check-tokend.spec'), requests: ours, connections: c, pid: tokend.pid }),
    specTarget({ key: 'nometrics', label: 'tokend check, metrics off', url: bare.url, specFile: join(ctx.work, 'check-nometrics.spec'), requests: ours, connections: c, pid: bare.pid }),
    specTarget({ key: 'policy', label: 'tokend check with a rate limit, an allow-list and credits attached', url: tokend.url, specFile: join(ctx.work, 'check-policy.spec'), requests: ruled, connections: c, pid: tokend.pid }),
    specTarget({ key: 'floor', label: 'bare Fastify route (floor)', url: floor.url, specFile: join(ctx.work, 'check-floor.spec'), requests: ours, connections: c, pid: floor.pid }),
    specTarget({ key: 'oidc', label: 'oidc-provider introspection', url: oidc.url, specFile: join(ctx.work, 'check-oidc.spec'), requests: theirs, connections: c, pid: oidc.pid }),
  ];
  ctx.log(`  check: ${p.rounds} rounds x ${p.durationS} s, ${c} connections, ${ours.length} distinct tokens (oidc-provider: ${theirs.length})`);
  const s = await interleaved(targets, { rounds: p.rounds, durationS: p.durationS, warmupS: p.warmupS, log: ctx.log });
  const after = await send(oidc.url, theirs[theirs.length - 1]!);
  if (!after.text.includes('"active":true')) throw new Error('oidc-provider forgot its tokens during the run: the comparison would be unfair');
  const mem = memoryOf(tokend.pid);
  return {
    comparisons: [
      compare('check-floor', 'Invoicebox check, valid v3 token, SQLite', s.get('tokend')!, s.get('floor')!, 0.6, '>= 0.6 of the floor'),
      compare('check-metrics', 'Invoicebox check, valid v3 token, SQLite', s.get('tokend')!, s.get('nometrics')!, 0.95, '>= 0.95 of itself with metrics off'),
      compare('check-policy', 'Invoicebox check with a rate limit, an allow-list and credits attached, against the plain check', s.get('policy')!, s.get('tokend')!, 0.9, '>= 0.9 of the plain check'),
      compare('check-oidc', 'Invoicebox check, valid v3 token, SQLite', s.get('tokend')!, s.get('oidc')!, 8, '>= 8x oidc-provider introspection'),
      compare(
        'check-random',
        'check, a new random token of each format per request (v3, l3, native API token, ChatApp access token, service JWT with the real kid), SQLite',
        s.get('random')!,
        s.get('floor')!,
        0.8,
        '>= 0.8 of the floor',
        `API-token filter: ${filter.tokens.toLocaleString('en-US')} tokens, ${(filter.bytes / 2 ** 20).toFixed(1)} MiB, loaded in ${(filter.ms / 1000).toFixed(2)} s`,
      ),
    ],
    sections: [],
    facts: { checkRssMiB: mem?.rssMiB ?? Number.NaN, checkPeakMiB: mem?.peakMiB ?? Number.NaN, filterTokens: filter.tokens, filterBytes: filter.bytes, filterLoadMs: filter.ms },
  };
}

/** Waits for the server's API-token filter to load; its size and load time, from the log line it writes then. */
async function filterLoaded(url: string, logFile: string): Promise<{ tokens: number; bytes: number; ms: number }> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const line = readFileSync(logFile, 'utf8')
      .split('\n')
      .find((l) => l.includes('API-token filter loaded'));
    if (line) {
      const j = JSON.parse(line) as { tokens: number; bytes: number; ms: number };
      return { tokens: j.tokens, bytes: j.bytes, ms: j.ms };
    }
    if (Date.now() > deadline) throw new Error(`${url}: the API-token filter did not load within 5 minutes`);
    await sleep(200);
  }
}

/** wrk with bench/wrk/random-tokens.lua: a fresh random token of each format per request; 401 is the right answer. */
function randomTokensTarget(o: { key: string; label: string; url: string; connections: number; pid: number; account: string; jwtHeader: string }): Target {
  return {
    key: o.key,
    label: o.label,
    run: (durationS) => withCpu(o.pid, () => runWrk({ url: o.url, script: 'random-tokens.lua', scriptArgs: [o.account, o.jwtHeader], connections: o.connections, durationS })),
  };
}
