/**
 * The same check with few and with many tokens stored: with the verification cache (the default)
 * and without it (TOKEND_VERIFY_CACHE_TTL=0: every check is an indexed read), so the cost of the
 * index depth shows instead of hiding behind the cache. Also the memory of the big server, as
 * tokend starts (V8's semi-spaces at 8 MiB, TOKEND_V8_SEMI_SPACE_MB) and with V8's own sizing of
 * its young generation, and of the bare Fastify floor for comparison.
 */
import { join } from 'node:path';
import { compare, type Context, type ScenarioResult } from '../lib/context.ts';
import { interleaved } from '../lib/measure.ts';
import { specTarget, startFloor } from '../lib/peers.ts';
import { freePort, memoryOf } from '../lib/procs.ts';
import { startTokend } from '../lib/tokend.ts';
import { median } from '../lib/stats.ts';
import type { Target } from '../lib/measure.ts';
import { checkRequests } from './check.ts';

/** How often the servers' resident memory is read while a load runs. */
const RSS_SAMPLE_MS = 250;

/**
 * The target, with its server's RSS read every RSS_SAMPLE_MS while it is under load: one reading
 * after the load lands before or after a garbage collection by chance (V8 frees tens of MiB at a
 * time), the median of hundreds does not.
 */
function sampled(target: Target, pid: number, into: number[]): Target {
  return {
    ...target,
    run: async (durationS) => {
      const timer = setInterval(() => {
        const m = memoryOf(pid);
        if (m) into.push(m.rssMiB);
      }, RSS_SAMPLE_MS);
      try {
        return await target.run(durationS);
      } finally {
        clearInterval(timer);
      }
    },
  };
}


export async function scaleScenario(ctx: Context): Promise<ScenarioResult> {
  const { p } = ctx;
  const [big, small] = await Promise.all([ctx.big(), ctx.small()]);
  // Quick mode (CI) leaves out the cache-off pair: two more servers, the same code path.
  const full = p.mode === 'full';
  const uncached = { TOKEND_VERIFY_CACHE_TTL: '0' };
  const start = async (name: string, dir: string, more: { env?: Record<string, string>; nodeFlags?: string[] }) =>
    ctx.own(await startTokend({ name, dir, port: await freePort(), ...more }));
  const [big0, small0, bigLean, floor] = await Promise.all([
    full ? start('tokend-big-nocache', big.fixture.dir, { env: uncached }) : null,
    full ? start('tokend-small-nocache', small.fixture.dir, { env: uncached }) : null,
    // The same big server with V8 sizing its young generation itself (from the machine's memory):
    // what tokend's default of 8 MiB semi-spaces saves, and what it costs in throughput.
    start('tokend-big-lean', big.fixture.dir, { env: { TOKEND_V8_SEMI_SPACE_MB: '0' } }),
    startFloor(ctx.work).then(ctx.own),
  ]);
  const n = Math.min(p.workingSet, small.fixture.v3Tokens.length);
  const bigReqs = checkRequests(big.fixture.v3Tokens.slice(0, n));
  const smallReqs = checkRequests(small.fixture.v3Tokens.slice(0, n));
  const c = p.connections;
  const nBig = big.fixture.storedApiTokens.toLocaleString('en-US');
  const nSmall = small.fixture.storedApiTokens.toLocaleString('en-US');
  const underLoad = new Map<string, number[]>();
  const t = (key: string, label: string, server: { url: string; pid: number }, requests: typeof bigReqs) => {
    const samples: number[] = [];
    underLoad.set(key, samples);
    return sampled(specTarget({ key, label, url: server.url, specFile: join(ctx.work, `scale-${key}.spec`), requests, connections: c, pid: server.pid }), server.pid, samples);
  };
  const targets = [
    t('big', `check, ${nBig} stored`, big.server, bigReqs),
    t('small', `check, ${nSmall} stored`, small.server, smallReqs),
    ...(big0 && small0 ? [t('big0', `check, ${nBig} stored, cache off`, big0, bigReqs), t('small0', `check, ${nSmall} stored, cache off`, small0, smallReqs)] : []),
    t('bigLean', `check, ${nBig} stored, V8's own young generation (TOKEND_V8_SEMI_SPACE_MB=0)`, bigLean, bigReqs),
    t('floor', 'bare Fastify route (floor)', floor, bigReqs),
  ];
  ctx.log(`  scale: ${p.rounds} rounds x ${p.durationS} s, ${c} connections, ${n} distinct tokens`);
  const s = await interleaved(targets, { rounds: p.rounds, durationS: p.durationS, warmupS: p.warmupS, log: ctx.log });
  const mem = memoryOf(big.server.pid);
  const mem0 = big0 ? memoryOf(big0.pid) : null;
  const memSmall = memoryOf(small.server.pid);
  const memLean = memoryOf(bigLean.pid);
  const memFloor = memoryOf(floor.pid);
  const loadMedian = (key: string): number => {
    const samples = underLoad.get(key);
    return samples && samples.length ? median(samples) : Number.NaN;
  };
  const mib = (key: string, m: { rssMiB: number; peakMiB: number } | null, server: { startMemory: { rssMiB: number; peakMiB: number } | null } | null): string =>
    `${server?.startMemory?.peakMiB.toFixed(0) ?? 'n/a'} | ${loadMedian(key).toFixed(0)} | ${m ? `${m.rssMiB.toFixed(0)} | ${m.peakMiB.toFixed(0)}` : 'n/a | n/a'}`;
  const rate = (k: string): string => Math.round(s.get(k)!.rps).toLocaleString('en-US');
  return {
    comparisons: [
      compare('scale-cached', `check at ${nSmall} vs ${nBig} stored tokens`, s.get('big')!, s.get('small')!, 0.9, `>= 0.9 of itself at ${nSmall}`),
      ...(full
        ? [compare('scale-uncached', `check at ${nSmall} vs ${nBig} stored tokens, cache off`, s.get('big0')!, s.get('small0')!, 0.9, `>= 0.9 of itself at ${nSmall}`, 'every check reads the database')]
        : []),
    ],
    sections: [
      {
        title: 'Memory of the server under test',
        lines: [
          'Resident memory of each server (RSS counts the `node` executable itself, about 50 MiB): its peak by the time it answered ' +
            `(start-up: loading the compiled build), the median of its readings every ${RSS_SAMPLE_MS} ms while under the check load, ` +
            'a reading after the load, and the peak over its whole life.',
          '',
          '| server | check throughput (/s) | peak at start-up (MiB) | RSS under load, median (MiB) | RSS after the load (MiB) | peak RSS (MiB) |',
          '|---|---:|---:|---:|---:|---:|',
          `| tokend, ${nBig} tokens stored, cache on | ${rate('big')} | ${mib('big', mem, big.server)} |`,
          ...(full ? [`| tokend, ${nBig} tokens stored, cache off | ${rate('big0')} | ${mib('big0', mem0, big0)} |`] : []),
          `| tokend, ${nSmall} tokens stored, cache on | ${rate('small')} | ${mib('small', memSmall, small.server)} |`,
          `| tokend, ${nBig} tokens stored, V8's own young generation (\`TOKEND_V8_SEMI_SPACE_MB=0\`) | ${rate('bigLean')} | ${mib('bigLean', memLean, bigLean)} |`,
          `| bare Fastify route (floor) | ${rate('floor')} | ${mib('floor', memFloor, floor)} |`,
        ],
      },
    ],
    facts: {
      bigRssMiB: mem?.rssMiB ?? Number.NaN,
      bigLoadRssMiB: loadMedian('big'),
      leanLoadRssMiB: loadMedian('bigLean'),
      smallLoadRssMiB: loadMedian('small'),
      floorLoadRssMiB: loadMedian('floor'),
      bigPeakMiB: mem?.peakMiB ?? Number.NaN,
      big0RssMiB: mem0?.rssMiB ?? Number.NaN,
      big0PeakMiB: mem0?.peakMiB ?? Number.NaN,
      leanRssMiB: memLean?.rssMiB ?? Number.NaN,
      leanPeakMiB: memLean?.peakMiB ?? Number.NaN,
      leanRatio: s.get('bigLean')!.rps / s.get('big')!.rps,
      floorRssMiB: memFloor?.rssMiB ?? Number.NaN,
      smallRssMiB: memSmall?.rssMiB ?? Number.NaN,
      bigStartPeakMiB: big.server.startMemory?.peakMiB ?? Number.NaN,
    },
  };
}
