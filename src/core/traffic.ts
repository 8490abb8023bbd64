/**
 * The operator dashboard's figures: token checks per minute by kind and outcome, issuances,
 * refreshes and refusals, and the accounts and tokens with the most checks and the most refusals,
 * over the last hour, day, week or month (docs/operations.md, "Operator dashboard").
 *
 * Nothing is written per check. Core tells this class what happens through the CoreMetrics port
 * (the same calls Prometheus counts: a check's kind and outcome, an issuance, a refresh, a refusal)
 * and, for the top lists, which account and token a check of a known token was for (`seen`). Each
 * call adds one to a slot of the current minute's array, or to an entry of a map: a few integer
 * increments. A timer (every 10 s, started by the first count) adds what was counted to the
 * traffic table in one statement (a few for a large batch), per minute and per hour, adding to
 * what other nodes wrote, so the figures are the cluster's.
 *
 * The top lists are candidates: at each flush a node writes the 100 busiest accounts and tokens
 * of what it counted since the last flush (by checks, passed or refused, and by refusals). A
 * subject among them at every flush is counted exactly; one that is not sometimes loses those
 * intervals' counts. Each minute also remembers at most 20,000 accounts and 20,000 tokens; past
 * that, new ones are left out of the top lists (never out of the series).
 *
 * Retention: minutes are kept 26 hours (the 1-hour and 24-hour ranges), the top lists per minute 2
 * hours (the 1-hour range), hours 31 days (the 7-day and 30-day ranges, and the top lists of the
 * 24-hour range); `purgeExpired` drops the rest. A node that crashes loses at most one interval.
 */
import { DAY_MS, type Clock } from './clock.ts';
import type { CoreMetrics } from './metrics.ts';
import { FlushSchedule } from './write-behind.ts';
import type { AccountRepo, AppRepo, TrafficRepo, TrafficRow } from './ports.ts';
import { ADVICE_DAYS, type ClientFigures, type ClientFinding, type ClientPatterns } from './client-patterns.ts';
import { CHECK_KINDS, CHECK_OUTCOMES, ISSUED_KINDS, REFRESH_OUTCOMES, REFRESH_SCHEMES, REFUSAL_REASONS, TOKEN_KINDS } from './traffic-names.ts';
import type { CheckOutcomeName, TokenKind, TrafficRange } from './traffic-names.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** The ranges the dashboard shows: their span, the width of a bar, and the rows they are read from. */
export const TRAFFIC_RANGES: Record<TrafficRange, { groups: number; groupMs: number; sourceMs: number; topMs: number }> = {
  '1h': { groups: 60, groupMs: MINUTE_MS, sourceMs: MINUTE_MS, topMs: MINUTE_MS },
  '24h': { groups: 96, groupMs: 15 * MINUTE_MS, sourceMs: MINUTE_MS, topMs: HOUR_MS },
  '7d': { groups: 168, groupMs: HOUR_MS, sourceMs: HOUR_MS, topMs: HOUR_MS },
  '30d': { groups: 120, groupMs: 6 * HOUR_MS, sourceMs: HOUR_MS, topMs: HOUR_MS },
} as const;

/** How long rows are kept, from their bucket's start. */
const KEEP = { minute: 26 * HOUR_MS, topMinute: 2 * HOUR_MS, hour: 31 * DAY_MS + HOUR_MS };

// The slots of one minute: checks (kind x outcome), then issuances, refreshes, refusals.
const CHECKS_AT = 0;
const ISSUED_AT = CHECKS_AT + CHECK_KINDS.length * CHECK_OUTCOMES.length;
const REFRESH_AT = ISSUED_AT + ISSUED_KINDS.length;
const REFUSED_AT = REFRESH_AT + REFRESH_SCHEMES.length * REFRESH_OUTCOMES.length;
const SLOTS = REFUSED_AT + REFUSAL_REASONS.length;

/** The series name of each slot, as stored. */
const SERIES: string[] = [
  ...CHECK_KINDS.flatMap((k) => CHECK_OUTCOMES.map((o) => `check.${k}.${o}`)),
  ...ISSUED_KINDS.map((k) => `issued.${k}`),
  ...REFRESH_SCHEMES.flatMap((s) => REFRESH_OUTCOMES.map((o) => `refresh.${s}.${o}`)),
  ...REFUSAL_REASONS.map((r) => `refused.${r}`),
];
const SLOT_OF = new Map(SERIES.map((s, i) => [s, i]));

// Made once: the hot path looks labels up, it never builds a string.
const KIND_AT = new Map<string, number>(CHECK_KINDS.map((k, i) => [k, CHECKS_AT + i * CHECK_OUTCOMES.length]));
const OUTCOME_AT = new Map<string, number>(CHECK_OUTCOMES.map((o, i) => [o, i]));
const ISSUED_SLOT = new Map<string, number>(ISSUED_KINDS.map((k, i) => [k, ISSUED_AT + i]));
const SCHEME_AT = new Map<string, number>(REFRESH_SCHEMES.map((s, i) => [s, REFRESH_AT + i * REFRESH_OUTCOMES.length]));
const REFUSED_SLOT = new Map<string, number>(REFUSAL_REASONS.map((r, i) => [r, REFUSED_AT + i]));
/** A check's kind (verification's) to the credential its top list names. */
const TOKEN_KIND_OF = new Map<string, number>([
  ['api_token', 0],
  ['access', 1],
  ['service_access', 2],
]);

/** Candidates written per list at each flush. */
const TOP_CANDIDATES = 100;
/** Accounts, and tokens, remembered per minute for the top lists. */
const MAX_SUBJECTS = 20_000;
/** Rows per statement of a flush. */
const FLUSH_CHUNK = 500;
/** Rows kept for the next flush when the database is away; past that the oldest figures are dropped. */
const MAX_UNWRITTEN = 50_000;
/** How many entries each top list of the answer has. */
export const TOP_LIMIT = 10;
/** Flagged apps in the answer, worst first. */
export const FLAGGED_LIMIT = 50;

interface Tally {
  checks: number;
  refusals: number;
}
interface TokenTally extends Tally {
  accountId: number;
}

/** What one node counted in one minute (since the last flush). */
class Minute {
  readonly slots = new Float64Array(SLOTS);
  readonly accounts = new Map<number, Tally>();
  /** Per token kind (TOKEN_KINDS), by id. */
  readonly tokens: Map<string, TokenTally>[] = [new Map(), new Map(), new Map()];
  tokenCount = 0;
  readonly start: number;
  constructor(start: number) {
    this.start = start;
  }
}

export interface TrafficBucket {
  start: number;
  checks: Record<CheckOutcomeName, number>;
  issued: number;
  refreshed: number;
  refreshesRefused: number;
  quota: number;
}

export interface TopEntry {
  accountId: number;
  email: string | null;
  count: number;
}
export interface TopTokenEntry extends TopEntry {
  kind: TokenKind;
  id: string;
}

export interface FlaggedApp {
  appId: string;
  name: string | null;
  accountId: number | null;
  email: string | null;
  figures: ClientFigures;
  findings: ClientFinding[];
}

export interface TrafficReport {
  range: TrafficRange;
  bucketSeconds: number;
  from: number;
  to: number;
  /** Where the top lists start (whole hours for the ranges of a day and longer). */
  topFrom: number;
  buckets: TrafficBucket[];
  totals: {
    checks: Record<(typeof CHECK_KINDS)[number], Record<CheckOutcomeName, number>>;
    issued: Record<(typeof ISSUED_KINDS)[number], number>;
    refreshes: Record<(typeof REFRESH_SCHEMES)[number], Record<(typeof REFRESH_OUTCOMES)[number], number>>;
    refused: Record<(typeof REFUSAL_REASONS)[number], number>;
  };
  top: {
    accountsByChecks: TopEntry[];
    accountsByRefusals: TopEntry[];
    tokensByChecks: TopTokenEntry[];
    tokensByRefusals: TopTokenEntry[];
  };
  flaggedApps: { periodDays: number; apps: FlaggedApp[] };
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

export interface TrafficDeps {
  store: { traffic: TrafficRepo; accounts: Pick<AccountRepo, 'findById'>; apps: Pick<AppRepo, 'findByAppId'> };
  clock: Clock;
  clientPatterns: ClientPatterns;
  /** How often counts are written (the figures of other nodes are at most this stale). */
  flushEveryMs?: number;
}

export class TrafficStats implements CoreMetrics {
  readonly #d: TrafficDeps;
  readonly #schedule: FlushSchedule;
  #now: Minute | null = null;
  #end = 0;
  /** Minutes ended since the last flush. */
  #ended: Minute[] = [];
  /** Rows a failed flush could not write, by key: merged into the next one. */
  #unwritten = new Map<string, TrafficRow>();

  constructor(deps: TrafficDeps) {
    this.#d = deps;
    this.#schedule = new FlushSchedule(deps.flushEveryMs ?? 10_000, () => this.flush());
  }

  /** The current minute's counts (a new one when the minute has turned). */
  #minute(): Minute {
    const now = this.#d.clock.now();
    if (now < this.#end && this.#now !== null) return this.#now;
    if (this.#now) this.#ended.push(this.#now);
    const start = now - (now % MINUTE_MS);
    this.#now = new Minute(start);
    this.#end = start + MINUTE_MS;
    this.#schedule.arm();
    return this.#now;
  }

  // CoreMetrics: what core reports anyway, counted per minute.

  tokenCheck(kind: string, outcome: string): void {
    const at = KIND_AT.get(kind);
    const offset = OUTCOME_AT.get(outcome);
    if (at !== undefined && offset !== undefined) this.#minute().slots[at + offset]!++;
  }

  issued(kind: string): void {
    const slot = ISSUED_SLOT.get(kind);
    if (slot !== undefined) this.#minute().slots[slot]!++;
  }

  refreshed(scheme: string, outcome: string): void {
    const at = SCHEME_AT.get(scheme);
    if (at !== undefined) this.#minute().slots[at + (outcome === 'ok' ? 0 : outcome === 'refresh_token_reused' ? 2 : 1)]!++;
  }

  refused(reason: string): void {
    this.#minute().slots[REFUSED_SLOT.get(reason) ?? REFUSED_SLOT.get('other')!]!++;
  }

  reuseDetected(): void {}

  cacheLookup(): void {}

  /**
   * A check of a known token of `accountId` (verification's kind, and the id of the API token, app
   * or Access Key it was issued through) passed or was refused: the top lists' counts.
   */
  seen(accountId: number, kind: string, tokenId: string | null, ok: boolean): void {
    // The minute of the last count, without reading the clock again (tokenCheck, told of the same
    // check, turns it): at a minute's turn a check may count in the top lists of the minute before.
    const m = this.#now ?? this.#minute();
    let account = m.accounts.get(accountId);
    if (account === undefined && m.accounts.size < MAX_SUBJECTS) m.accounts.set(accountId, (account = { checks: 0, refusals: 0 }));
    if (account !== undefined) {
      account.checks++;
      if (!ok) account.refusals++;
    }
    const k = TOKEN_KIND_OF.get(kind);
    if (k === undefined || tokenId === null) return;
    const tokens = m.tokens[k]!;
    let token = tokens.get(tokenId);
    if (token === undefined) {
      if (m.tokenCount >= MAX_SUBJECTS) return;
      m.tokenCount++;
      tokens.set(tokenId, (token = { accountId, checks: 0, refusals: 0 }));
    }
    token.checks++;
    if (!ok) token.refusals++;
  }

  /** Stops the timer and writes what is pending (shutdown). */
  close(): Promise<void> {
    return this.#schedule.close();
  }

  /** Writes what was counted since the last flush; on failure it is kept for the next. Never runs twice at once. */
  flush(): Promise<void> {
    return this.#schedule.run(() => {
      const minutes = this.#ended;
      this.#ended = [];
      if (this.#now) {
        minutes.push(this.#now);
        this.#now = new Minute(this.#now.start);
      }
      const rows = this.#unwritten;
      this.#unwritten = new Map();
      for (const m of minutes) rowsOf(m, rows);
      return rows.size === 0 ? null : () => this.#write([...rows.values()]);
    });
  }

  async #write(all: TrafficRow[]): Promise<void> {
    for (let i = 0; i < all.length; i += FLUSH_CHUNK) {
      const chunk = all.slice(i, i + FLUSH_CHUNK);
      try {
        await this.#d.store.traffic.addMany(chunk);
      } catch {
        // Kept for the next flush, merged with what it brings.
        for (const row of all.slice(i)) {
          if (this.#unwritten.size >= MAX_UNWRITTEN) break;
          add(this.#unwritten, row);
        }
        break;
      }
    }
  }

  /** Drops what is past its retention; run with the other purges. */
  purgeExpired(now: number): Promise<number> {
    return this.#d.store.traffic.purgeExpired(now);
  }

  /** The dashboard over `range`, as written by every node's last flush. */
  async report(range: TrafficRange): Promise<TrafficReport> {
    const r = TRAFFIC_RANGES[range];
    const now = this.#d.clock.now();
    const from = now - (now % r.groupMs) - (r.groups - 1) * r.groupMs;
    const topFrom = from - (from % r.topMs);
    const { traffic } = this.#d.store;
    const [rows, accountsByChecks, accountsByRefusals, tokensByChecks, tokensByRefusals, flagged] = await Promise.all([
      traffic.series(r.sourceMs, r.groupMs, from),
      traffic.top(r.topMs, 'account.checks', topFrom, TOP_LIMIT),
      traffic.top(r.topMs, 'account.refusals', topFrom, TOP_LIMIT),
      traffic.top(r.topMs, 'token.checks', topFrom, TOP_LIMIT),
      traffic.top(r.topMs, 'token.refusals', topFrom, TOP_LIMIT),
      this.#d.clientPatterns.flagged(FLAGGED_LIMIT),
    ]);

    const buckets: TrafficBucket[] = Array.from({ length: r.groups }, (_, i) => ({
      start: from + i * r.groupMs,
      checks: zeros(CHECK_OUTCOMES),
      issued: 0,
      refreshed: 0,
      refreshesRefused: 0,
      quota: 0,
    }));
    const totals: TrafficReport['totals'] = {
      checks: Object.fromEntries(CHECK_KINDS.map((k) => [k, zeros(CHECK_OUTCOMES)])) as TrafficReport['totals']['checks'],
      issued: zeros(ISSUED_KINDS),
      refreshes: Object.fromEntries(REFRESH_SCHEMES.map((s) => [s, zeros(REFRESH_OUTCOMES)])) as TrafficReport['totals']['refreshes'],
      refused: zeros(REFUSAL_REASONS),
    };
    for (const row of rows) {
      const bucket = buckets[Math.floor((row.start - from) / r.groupMs)];
      const slot = SLOT_OF.get(row.series);
      if (!bucket || slot === undefined) continue;
      if (slot < ISSUED_AT) {
        const kind = CHECK_KINDS[Math.floor(slot / CHECK_OUTCOMES.length)]!;
        const outcome = CHECK_OUTCOMES[slot % CHECK_OUTCOMES.length]!;
        bucket.checks[outcome] += row.count;
        totals.checks[kind][outcome] += row.count;
      } else if (slot < REFRESH_AT) {
        bucket.issued += row.count;
        totals.issued[ISSUED_KINDS[slot - ISSUED_AT]!] += row.count;
      } else if (slot < REFUSED_AT) {
        const at = slot - REFRESH_AT;
        const outcome = REFRESH_OUTCOMES[at % REFRESH_OUTCOMES.length]!;
        if (outcome === 'ok') bucket.refreshed += row.count;
        else bucket.refreshesRefused += row.count;
        totals.refreshes[REFRESH_SCHEMES[Math.floor(at / REFRESH_OUTCOMES.length)]!][outcome] += row.count;
      } else {
        const reason = REFUSAL_REASONS[slot - REFUSED_AT]!;
        if (reason === 'quota') bucket.quota += row.count;
        totals.refused[reason] += row.count;
      }
    }

    const emails = await this.#emails([
      ...[...accountsByChecks, ...accountsByRefusals].map((e) => Number(e.subject)),
      ...[...tokensByChecks, ...tokensByRefusals].map((e) => parseToken(e.subject)?.accountId ?? 0),
    ]);
    const apps = await Promise.all(flagged.map((f) => this.#d.store.apps.findByAppId(f.appId)));
    const appEmails = await this.#emails(apps.map((a) => a?.accountId ?? 0));
    const account = (e: { subject: string; count: number }): TopEntry => ({ accountId: Number(e.subject), email: emails.get(Number(e.subject)) ?? null, count: e.count });
    const token = (e: { subject: string; count: number }): TopTokenEntry[] => {
      const t = parseToken(e.subject);
      return t ? [{ ...t, email: emails.get(t.accountId) ?? null, count: e.count }] : [];
    };
    return {
      range,
      bucketSeconds: r.groupMs / 1000,
      from,
      to: now,
      topFrom,
      buckets,
      totals,
      top: {
        accountsByChecks: accountsByChecks.map(account),
        accountsByRefusals: accountsByRefusals.map(account),
        tokensByChecks: tokensByChecks.flatMap(token),
        tokensByRefusals: tokensByRefusals.flatMap(token),
      },
      flaggedApps: {
        periodDays: ADVICE_DAYS,
        apps: flagged.map((f, i) => {
          const app = apps[i] ?? null;
          return { ...f, name: app?.name ?? null, accountId: app?.accountId ?? null, email: app ? (appEmails.get(app.accountId) ?? null) : null };
        }),
      },
    };
  }

  async #emails(ids: number[]): Promise<Map<number, string>> {
    const unique = [...new Set(ids.filter((id) => Number.isSafeInteger(id) && id > 0))];
    const accounts = await Promise.all(unique.map((id) => this.#d.store.accounts.findById(id)));
    const out = new Map<number, string>();
    for (const a of accounts) if (a) out.set(a.id, a.email);
    return out;
  }
}

/** `${kind}:${accountId}:${id}`: a token in the top lists (the id may hold colons). */
function tokenSubject(kind: TokenKind, accountId: number, id: string): string {
  return `${kind}:${accountId}:${id}`;
}

function parseToken(subject: string): { kind: TokenKind; accountId: number; id: string } | null {
  const a = subject.indexOf(':');
  const b = subject.indexOf(':', a + 1);
  if (a < 0 || b < 0) return null;
  const kind = subject.slice(0, a) as TokenKind;
  const accountId = Number(subject.slice(a + 1, b));
  if (!TOKEN_KINDS.includes(kind) || !Number.isSafeInteger(accountId)) return null;
  return { kind, accountId, id: subject.slice(b + 1) };
}

function add(rows: Map<string, TrafficRow>, row: TrafficRow): void {
  const key = `${row.bucketMs}|${row.bucketStart}|${row.series}|${row.subject}`;
  const held = rows.get(key);
  if (held) held.amount += row.amount;
  else rows.set(key, { ...row });
}

/** A figure as rows: its minute's (when minutes are kept for it) and its hour's, merged by key (one statement must not name a row twice). */
function addBoth(rows: Map<string, TrafficRow>, minute: number, series: string, subject: string, amount: number, minuteKeepMs: number): void {
  add(rows, { bucketMs: MINUTE_MS, bucketStart: minute, series, subject, amount, expiresAt: minute + minuteKeepMs });
  const hour = minute - (minute % HOUR_MS);
  add(rows, { bucketMs: HOUR_MS, bucketStart: hour, series, subject, amount, expiresAt: hour + KEEP.hour });
}

/** The busiest `n` of `entries` by checks and by refusals (the union). */
function candidates<T extends Tally>(entries: [string, T][], n: number): [string, T][] {
  if (entries.length <= n) return entries;
  const chosen = new Set<[string, T]>();
  for (const measure of ['checks', 'refusals'] as const) {
    const sorted = entries.filter(([, t]) => t[measure] > 0).sort((a, b) => b[1][measure] - a[1][measure]);
    for (const e of sorted.slice(0, n)) chosen.add(e);
  }
  return [...chosen];
}

function rowsOf(m: Minute, rows: Map<string, TrafficRow>): void {
  for (let slot = 0; slot < SLOTS; slot++) {
    const n = m.slots[slot]!;
    if (n > 0) addBoth(rows, m.start, SERIES[slot]!, '', n, KEEP.minute);
  }
  const accounts = candidates(
    [...m.accounts].map(([id, t]): [string, Tally] => [String(id), t]),
    TOP_CANDIDATES,
  );
  const tokens = candidates(
    m.tokens.flatMap((map, k) => [...map].map(([id, t]): [string, TokenTally] => [tokenSubject(TOKEN_KINDS[k]!, t.accountId, id), t])),
    TOP_CANDIDATES,
  );
  for (const [list, entries] of [
    ['account', accounts],
    ['token', tokens],
  ] as const) {
    for (const [subject, t] of entries) {
      if (t.checks > 0) addBoth(rows, m.start, `${list}.checks`, subject, t.checks, KEEP.topMinute);
      if (t.refusals > 0) addBoth(rows, m.start, `${list}.refusals`, subject, t.refusals, KEEP.topMinute);
    }
  }
}
