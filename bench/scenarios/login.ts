/**
 * Unknown email vs wrong password: bench/login-enumeration.ts (the security issue's report) run as
 * part of the bench, so that it cannot rot either; its table goes to its own file, linked here.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, ScenarioResult } from '../lib/context.ts';

const BENCH = new URL('../', import.meta.url).pathname;

export async function loginScenario(ctx: Context): Promise<ScenarioResult> {
  const quick = ctx.p.mode === 'quick';
  const child = spawn(process.execPath, [join(BENCH, 'login-enumeration.ts'), ...(quick ? ['--quick', '--n', '20'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), (quick ? 3 : 20) * 60_000);
  const code = await new Promise<number>((resolve) => child.once('close', (c) => resolve(c ?? -1)));
  clearTimeout(killer);
  if (code !== 0) throw new Error(`bench/login-enumeration.ts exited with ${code}: ${err.slice(-2000)}`);
  const file = quick ? 'LOGIN-ENUMERATION.quick.md' : 'LOGIN-ENUMERATION.md';
  const report = readFileSync(join(BENCH, file), 'utf8');
  // The comparison lines (median difference, Kolmogorov-Smirnov) are the summary.
  const summary = report.split('\n').filter((l) => l.startsWith('- ') && l.includes('Kolmogorov'));
  ctx.log(`  login: wrote bench/${file}`);
  return {
    comparisons: [],
    sections: [{ title: 'Unknown email vs wrong password', lines: [`Latency distributions of both in [${file}](${file}) (bench/login-enumeration.ts, run as part of this bench).`, '', ...summary] }],
    facts: {},
  };
}
