/** The short analysis under the tables: what each figure means and, where a target is missed, why. */
import type { Comparison, Params } from './lib/context.ts';

export function analyse(p: Params, comparisons: readonly Comparison[], facts: Record<string, number>): string[] {
  const out: string[] = [];
  const by = (id: string): Comparison | undefined => comparisons.find((c) => c.id === id);
  const verdict = (c: Comparison): string => (c.ratio >= c.target ? 'meets' : 'misses');
  for (const c of comparisons) {
    out.push(`- **${c.scenario}**: ${c.ratio.toFixed(2)} against ${c.baseline.label} (${verdict(c)} ${c.targetText}).`);
  }
  const make = by('make-kdf');
  if (make && Number.isFinite(facts.rawParallel)) {
    out.push(
      `- The KDF limit assumes each core hashes as fast in parallel as one does alone. Here argon2id on every core, with no server at all, reaches ` +
        `${facts.rawParallel!.toFixed(1)}/s, ${(facts.rawParallel! / facts.kdfLimit!).toFixed(2)} of that limit; make reaches ${(facts.makeRps! / facts.rawParallel!).toFixed(2)} of what the machine can hash.`,
    );
  }
  if (Number.isFinite(facts.checkLoadedP99us)) {
    out.push(
      `- Check latency beside make: p99 ${(facts.checkLoadedP99us! / 1000).toFixed(2)} ms vs ${(facts.checkIdleP99us! / 1000).toFixed(2)} ms unloaded ` +
        `(${(facts.checkLoadedP99us! / facts.checkIdleP99us!).toFixed(2)}x; target <= 2x).`,
    );
  }
  if (Number.isFinite(facts.bigRssMiB)) {
    out.push(`- Memory with ${p.bigTokens.toLocaleString('en-US')} tokens stored: RSS ${facts.bigRssMiB!.toFixed(0)} MiB, peak ${facts.bigPeakMiB!.toFixed(0)} MiB (target <= 150 MB).`);
  }
  if (Number.isFinite(facts.dbMiBPerMillion)) out.push(`- Database: ${facts.dbMiBPerMillion!.toFixed(0)} MiB per million API tokens.`);
  return out;
}
