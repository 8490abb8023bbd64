/** What every scenario gets: the mode's parameters, a work directory, servers started once. */
import type { Fixture } from './tokend.ts';
import type { Server } from './procs.ts';
import type { Summary } from './measure.ts';
import { median } from './stats.ts';

export interface Params {
  mode: 'full' | 'quick';
  rounds: number;
  durationS: number;
  warmupS: number;
  /** wrk connections for throughput scenarios. */
  connections: number;
  /** API tokens stored in the large database ("1M"). */
  bigTokens: number;
  /** API tokens stored in the small database ("1k"). */
  smallTokens: number;
  /** Distinct tokens the check load presents. */
  workingSet: number;
  /** Sessions per refresh-chain run. */
  refreshPool: number;
  /** make: connections (argon2 requests in flight). */
  makeConnections: number;
  makeDurationS: number;
  /** Serial argon2id hashes timed for the KDF limit. */
  kdfSamples: number;
  /** JWT verifications per round per side. */
  jwtIterations: number;
  /** Seconds each storage-floor workload runs per round. */
  floorS: number;
}

export const FULL: Params = {
  mode: 'full',
  rounds: 5,
  durationS: 10,
  warmupS: 3,
  connections: 32,
  bigTokens: 1_000_000,
  smallTokens: 1_000,
  workingSet: 1_000,
  refreshPool: 256,
  makeConnections: 8,
  makeDurationS: 10,
  kdfSamples: 40,
  jwtIterations: 10_000,
  floorS: 5,
};

/** Seconds, not minutes: every scenario and every code path of the full run, smaller and shorter. */
export const QUICK: Params = {
  mode: 'quick',
  rounds: 2,
  durationS: 2,
  // A smoke run: no warm-up (the figures are not the published ones).
  warmupS: 0,
  connections: 32,
  bigTokens: 100_000,
  smallTokens: 1_000,
  workingSet: 1_000,
  refreshPool: 256,
  makeConnections: 8,
  makeDurationS: 2,
  kdfSamples: 8,
  jwtIterations: 2_000,
  floorS: 1,
};

export interface Comparison {
  /** Short name of the row, e.g. `check-floor`. */
  id: string;
  scenario: string;
  subject: Summary;
  baseline: Summary;
  /** subject / baseline for throughput (bigger is better). */
  ratio: number;
  target: number;
  targetText: string;
  note?: string;
}

export interface Section {
  title: string;
  lines: string[];
}

export interface ScenarioResult {
  comparisons: Comparison[];
  sections: Section[];
  /** Numbers the analysis quotes. */
  facts: Record<string, number>;
}

export interface Context {
  p: Params;
  work: string;
  log(line: string): void;
  /** The fixtures and servers shared between scenarios, started on first use. */
  big(): Promise<{ fixture: Fixture; server: Server }>;
  small(): Promise<{ fixture: Fixture; server: Server }>;
  /** Starts a server that lives until the end of the run. */
  own(server: Server): Server;
  /** Node flags for a tokend started by a scenario itself (`--profile`: --cpu-prof). */
  nodeFlags?(name: string): string[];
}

export function compare(
  id: string,
  scenario: string,
  subject: Summary,
  baseline: Summary,
  target: number,
  targetText: string,
  note?: string,
): Comparison {
  return { id, scenario, subject, baseline, ratio: pairedRatio(subject, baseline), target, targetText, ...(note ? { note } : {}) };
}

/**
 * The median of the per-round ratios when both sides ran the same rounds (interleaved, so each
 * pair was measured moments apart and a drift of the machine cancels out); else the ratio of the
 * medians.
 */
export function pairedRatio(subject: Summary, baseline: Summary): number {
  if (subject.rounds.length > 1 && subject.rounds.length === baseline.rounds.length) {
    return median(subject.rounds.map((r, i) => r / baseline.rounds[i]!));
  }
  return subject.rps / baseline.rps;
}
