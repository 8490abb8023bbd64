/**
 * Invoicebox check (GET /v3/security/api/auth/auth, a valid v3 token, SQLite with the big token
 * count stored) against a bare Fastify route answering the same JSON (the floor), and against
 * node-oidc-provider introspecting its own opaque tokens (RFC 7662). And against itself with
 * metrics off (TOKEND_METRICS=false, a second process on the same database): what counting every
 * request for /metrics costs.
 */
import { join } from 'node:path';
import { compare, type Context, type ScenarioResult } from '../lib/context.ts';
import { interleaved } from '../lib/measure.ts';
import { oidcIntrospectRequest, oidcTokens, send, specTarget, startFloor, startOidc } from '../lib/peers.ts';
import { freePort, memoryOf } from '../lib/procs.ts';
import { startTokend } from '../lib/tokend.ts';
import type { SpecRequest } from '../lib/wrk.ts';

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
  const theirs = oidcSet.map(oidcIntrospectRequest);
  // Every target must answer what it is measured answering: a valid token, not a cheap refusal.
  const mine = await send(tokend.url, ours[0]!);
  if (mine.status !== 200 || !/"userId":"[0-9a-f-]{36}"/.test(mine.text)) throw new Error(`tokend check answered ${mine.status} ${mine.text}`);
  const peer = await send(oidc.url, theirs[0]!);
  if (peer.status !== 200 || !peer.text.includes('"active":true')) throw new Error(`oidc-provider introspection answered ${peer.status} ${peer.text}`);
  const fl = await send(floor.url, ours[0]!);
  if (fl.status !== 200 || fl.text.length !== mine.text.length) throw new Error(`floor answered ${fl.status} ${fl.text}`);

  const c = p.connections;
  const targets = [
    specTarget({ key: 'tokend', label: `tokend check (${fixture.storedApiTokens.toLocaleString('en-US')} stored)`, url: tokend.url, specFile: join(ctx.work, 'check-tokend.spec'), requests: ours, connections: c, pid: tokend.pid }),
    specTarget({ key: 'nometrics', label: 'tokend check, metrics off', url: bare.url, specFile: join(ctx.work, 'check-nometrics.spec'), requests: ours, connections: c, pid: bare.pid }),
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
      compare('check-oidc', 'Invoicebox check, valid v3 token, SQLite', s.get('tokend')!, s.get('oidc')!, 8, '>= 8x oidc-provider introspection'),
    ],
    sections: [],
    facts: { checkRssMiB: mem?.rssMiB ?? Number.NaN, checkPeakMiB: mem?.peakMiB ?? Number.NaN },
  };
}
