/**
 * The analysis under the tables: for each target, whether it is met, and where it is not, what
 * stands in the way, with the numbers of this run. The changes made to reach these figures are
 * listed once at the end (they are facts about the code, not about a run).
 */
import type { Comparison, Params } from './lib/context.ts';

const f0 = (n: number): string => Math.round(n).toLocaleString('en-US');
const f2 = (n: number): string => n.toFixed(2);
const ms = (us: number): string => (us / 1000).toFixed(2);

export function analyse(p: Params, comparisons: readonly Comparison[], facts: Record<string, number>): string[] {
  const out: string[] = [];
  const by = (id: string): Comparison | undefined => comparisons.find((c) => c.id === id);
  const has = (k: string): boolean => Number.isFinite(facts[k]);
  const fact = (k: string): number => facts[k]!;
  const met = (c: Comparison): string => (c.ratio >= c.target ? 'met' : 'missed');

  const floor = by('check-floor');
  const oidc = by('check-oidc');
  if (floor) {
    out.push(
      `- **Check vs the floor** (${met(floor)}, ${f2(floor.ratio)}): the server spends ${f0(floor.subject.cpuUsPerReq)} µs of CPU per check against ` +
        `${f0(floor.baseline.cpuUsPerReq)} µs for a bare route; the difference is the token's shape check and SHA-256, the verification cache, ` +
        `the usage count, the envelope and tokend's hooks (no-store, credential-in-URL refusal). With one core for the server and one for wrk, ` +
        `a few microseconds per request move this ratio by several points.`,
    );
  }
  if (oidc && floor) {
    const ceiling = floor.baseline.rps / oidc.baseline.rps;
    out.push(
      `- **Check vs oidc-provider introspection** (${met(oidc)}, ${f2(oidc.ratio)}x): oidc-provider answers ${f0(oidc.baseline.rps)}/s with ` +
        `${f0(oidc.baseline.cpuUsPerReq)} µs of CPU each. ${ceiling < oidc.target ? `The target of ${oidc.target}x is above what any server can do on this machine: the bare Fastify route that does nothing is itself only ${f2(ceiling)}x oidc-provider, so ${oidc.target}x would need a check faster than an empty route.` : `The floor is ${f2(ceiling)}x oidc-provider, so ${oidc.target}x is within reach of a check close enough to the floor.`}`,
    );
  }
  const cached = by('scale-cached');
  const uncached = by('scale-uncached');
  if (cached) {
    out.push(
      `- **1k vs ${p.bigTokens.toLocaleString('en-US')} stored** (${met(cached)}, ${f2(cached.ratio)}${uncached ? `; cache off ${f2(uncached.ratio)}` : ''}): a check is one lookup in a B-tree ` +
        `index by SHA-256, so its cost grows with the depth of the index (one or two more pages), not with the count; with the cache on most checks never reach it.` +
        (cached.ratio < 0.9 && uncached && uncached.ratio >= 0.9
          ? ` In this run the cached row fell short while the uncached one, where every check reads the index, did not: so the lookup is not what ` +
            `grows. What differs with the cache on is only background work that does grow with the table (the \`last used\` times of the checked ` +
            `tokens, written every 10 s at scattered pages of a large table, and the checkpoint of those pages, on the two cores wrk also uses) ` +
            `and noise; it has not been profiled yet.`
          : ''),
    );
  }
  if (has('bigRssMiB')) {
    out.push(
      `- **Memory at ${p.bigTokens.toLocaleString('en-US')} tokens** (RSS under load ${f0(fact('bigLoadRssMiB'))} MiB, the median of readings every 250 ms, ` +
        `${has('floorLoadRssMiB') ? `${f2(fact('bigLoadRssMiB') / fact('floorLoadRssMiB'))}x the bare route's ${f0(fact('floorLoadRssMiB'))} MiB; target 1.3x: ${fact('bigLoadRssMiB') <= 1.3 * fact('floorLoadRssMiB') ? 'met' : 'missed'}` : ''}; ` +
        `${f0(fact('bigRssMiB'))} MiB read once after the load): ` +
        `memory does not depend on the tokens stored (they are in the database file; ${has('smallLoadRssMiB') ? `${f0(fact('smallLoadRssMiB'))} MiB under load with 1,000` : 'the same with 1,000'}). ` +
        `It is Node's: the executable (about 50 MiB of the RSS), V8's heap (about 40 MiB live: the code and sources of tokend and its libraries), ` +
        `a second V8 instance for the checkpoint thread, SQLite's page cache. What grows under load is V8's young generation, which V8 sizes ` +
        `from the machine's memory (up to two 64 MiB semi-spaces on this one), and the old space, which holds promoted garbage until its next full collection; ` +
        `tokend serve therefore starts with 8 MiB semi-spaces (TOKEND_V8_SEMI_SPACE_MB).` +
        (has('leanRssMiB')
          ? ` With V8's own sizing (\`TOKEND_V8_SEMI_SPACE_MB=0\`) the same server holds ${f0(fact('leanLoadRssMiB'))} MiB ` +
            `under load at ${f2(fact('leanRatio'))} of the throughput.`
          : ''),
    );
  }
  const create = by('create-oidc');
  const refresh = by('refresh-oidc');
  const refreshCeiling = by('refresh-ceiling');
  const createCeiling = by('create-ceiling');
  if (create && refresh && refreshCeiling && createCeiling && has('ceilingRefresh')) {
    out.push(
      `- **Durable writes** (refresh ${met(refreshCeiling)} at ${f2(refreshCeiling.ratio)} of its ceiling and ${met(refresh)} at ${f2(refresh.ratio)}x oidc-provider; ` +
        `create ${met(createCeiling)} at ${f2(createCeiling.ratio)} of its ceiling, ${f2(create.ratio)}x oidc-provider): oidc-provider keeps its tokens in ` +
        `memory and writes nothing; tokend commits every pair to disk before answering (the log synced after each group COMMIT, docs/operations.md). The same writes by hand, prepared, ` +
        `32 per COMMIT, with nothing else, run at ${f0(fact('sqlRefresh'))} refreshes/s and ${f0(fact('sqlCreate'))} creations/s (medians of the rounds); with the HTTP floor added, ` +
        `one core could reach at most ${f0(fact('ceilingRefresh'))}/s and ${f0(fact('ceilingCreate'))}/s, that is ` +
        `${f2(fact('ceilingRefresh') / fact('oidcCc'))}x and ${f2(fact('ceilingCreate') / fact('oidcCc'))}x oidc-provider. ` +
        (fact('ceilingCreate') / fact('oidcCc') < 1.5
          ? 'So 1.5x for create is out of reach with SQLite and durable commits on this machine whatever tokend does; what tokend can do is approach the ceiling. '
          : '') +
        `Each round's tokend is held against that round's ceiling (the floor runs in the rounds); what tokend adds to the floor is ` +
        `the HTTP request and its envelope, Kysely's executor per statement, the savepoints of the group commit, the audit chain's head read and hash, ` +
        `the read before each refresh, token generation, and for create the Ed25519 signature (WebCrypto, on the thread pool, before the transaction), ` +
        `all on the same two cores as the load generator (\`node bench/profile-write.ts refresh|create\` says how much of each).`,
    );
  }
  const make = by('make-kdf');
  if (make && has('rawParallel')) {
    out.push(
      `- **make vs the KDF limit** (${met(make)}, ${f2(make.ratio)}): the limit assumes each core hashes in parallel as fast as one does alone. ` +
        `argon2id on ${f0(fact('cores'))} threads with no server at all reaches ${f2(fact('rawParallel'))}/s here, ` +
        `${f2(fact('rawParallel') / fact('kdfLimit'))} of that limit (19 MiB per hash: memory bandwidth, and cores shared with other work, set the real limit); ` +
        `make reaches ${f2(fact('makeRps') / fact('rawParallel'))} of what the machine hashes. A CPU profile of the server under this load ` +
        `(\`--profile\`) shows its event loop idle 83 % of the time (HTTP, the session's COMMIT and the probe's checks take the rest), so ` +
        `what limits make is the hashing on the thread pool, not tokend's own code. This machine is a virtual one with neighbours: ` +
        `one hash took from 22 to 35 ms on the same idle machine during one session, which moves the limit, the raw figure and make with it.`,
    );
  }
  if (has('checkLoadedP99us')) {
    out.push(
      `- **Check latency beside make** (p99 ${ms(fact('checkLoadedP99us'))} ms vs ${ms(fact('checkIdleP99us'))} ms unloaded, ` +
        `${f2(fact('checkLoadedP99us') / fact('checkIdleP99us'))}x, target 2x: ${fact('checkLoadedP99us') <= 2 * fact('checkIdleP99us') ? 'met' : 'missed'}; ` +
        `p50 ${f2(fact('checkLoadedP50us') / fact('checkIdleP50us'))}x): the hashing threads run below the event loop's priority, so the median check ` +
        `does not wait for them. A make's COMMIT no longer syncs on the event loop (the WAL sync thread makes its fdatasync, src/store/wal-sync.ts), ` +
        `and the probe's check is answered from the verification cache without reading the database, so the disk is not what the p99 waits for: ` +
        `fdatasync takes ${ms(fact('fsyncP50us'))} ms at p50 and ${ms(fact('fsyncP99us'))} ms at p99 on the idle machine, and ` +
        `${ms(fact('fsyncLoadedP50us'))} / ${ms(fact('fsyncLoadedP99us'))} ms while argon2id keeps both cores busy, on that thread. ` +
        (has('floorHashingP99us')
          ? `The machine's own limit, measured in the same run: the bare Fastify route, which hashes nothing and reads nothing, goes from ` +
            `${ms(fact('floorIdleP99us'))} to ${ms(fact('floorHashingP99us'))} ms at p99 (${f2(fact('floorHashingP99us') / fact('floorIdleP99us'))}x) ` +
            `while raw argon2id runs beside it in another process, as many in flight as the make load, its threads at nice 19` +
            (fact('floorHashingP99us') > 2 * fact('floorIdleP99us') ? ': no server reaches 2x on this machine while it hashes at full rate. ' : '. ')
          : '') +
        `Where the delay comes from (measured by hand with the event loop thread's schedstat at each delay, bench/RESULTS.md): runqueue ` +
        `waits of one scheduler tick (4 ms) behind other threads of normal priority (the kernel's writeback workers, the load generator, ` +
        `the probe's own process), whatever the hashing threads' priority (nice 19 or SCHED_IDLE); and the event loop's own time per ` +
        `check, which triples while argon2id sweeps the caches with 19 MiB per hash.`,
    );
  }
  const jwt = by('jwt-jose');
  if (jwt) {
    out.push(
      `- **SDK JWT verification** (${met(jwt)}, ${f2(jwt.ratio)}): both sides spend most of their time in WebCrypto's Ed25519 verification; the SDK adds ` +
        `a header check before it (forbidden headers, pinned algorithm, kid), the JWKS lookup by kid, required claims and a result object. ` +
        `Profiled in one process (20,000 verifications, 16 at a time): the SDK's own code is under 1 % of the CPU time, and the event loop ` +
        `is idle half of the time while WebCrypto verifies on the thread pool; the same code measured 0.85 and 0.92 of raw jose in two runs ` +
        `minutes apart. The gap is within this machine's noise, not in code that a change could remove.`,
    );
  }
  if (has('dbMiBPerMillion')) {
    out.push(`- **Database size**: ${f0(fact('dbMiBPerMillion'))} MiB per million API tokens (one row and three indexes each).`);
  }
  out.push(
    '',
    'Changes to tokend that these figures measure (found with `--cpu-prof` or by measuring memory and wake-up delays; see bench/README.md):',
    '',
    '- SQLite statements with a join and a bound `column = ?` were prepared anew on every execution (SQLite 3.54 treats the plan as depending on the value): ' +
      'parameters are now written `+?` (src/store/dialect.ts), 40-80 µs less per lookup.',
    '- Kysely built and compiled every query on every call (about 80 % of a one-row statement): the statements of checks, issuance and rotation are ' +
      'compiled once (src/store/prepared.ts), and SQLite statements are kept prepared (src/store/dialect.ts).',
    '- One COMMIT (and fsync) per write transaction capped durable writes at the disk\'s fsync rate: concurrent transactions now share a COMMIT, ' +
      'each in its own savepoint (group commit, src/store/group-commit.ts), with the same isolation, atomicity and durability per caller.',
    '- Fastify logged two info lines per request, and made a pino child logger (bindings serialised and redacted) for each: one access-log line per ' +
      'request now, at info for failures and debug for successes, and the child logger is made only when a line is written (src/http/access-log.ts).',
    '- Per-request hooks are callback-style instead of async; SHA-256 uses the one-shot `crypto.hash`.',
    '- argon2id runs on threads below the event loop\'s priority (src/secrets/kdf-priority.ts), so logins cannot starve token checks.',
    '- A durable write\'s COMMIT cost more than all its statements together, and most of it was not the fsync (0.3 ms here) but pages: every ' +
      'few commits the writer also checkpointed a thousand WAL pages into the file, on the event loop; and each rotation dirtied pages at ' +
      'random places of five b-trees. Now WAL checkpoints run on a worker thread with their own connection (src/store/checkpointer.ts), ' +
      'session ids are time-ordered UUIDv7 (appended, not scattered), and the two `session_id` indexes of the token tables, which no query ' +
      'read, are gone (migration 0005). Measured by hand on tokend\'s schema: 2,400 to 6,000 refreshes/s of SQLite alone.',
    '- Tokens are minted before the write transaction (SessionService.draft, and a read before each refresh): signing a JWT no longer ' +
      'holds the writer (SQLite\'s group commit, PostgreSQL\'s row locks), and an unknown refresh token is refused without queueing for the write lock.',
    '- tokend runs compiled (dist/, built by npm install; bin/tokend.js falls back to the sources after an edit): Node\'s type stripper ' +
      'kept about 40 MiB for the life of the process (start-up RSS 180 to 146 MiB).',
    '- The thread pool\'s threads (argon2id, WebCrypto) run at nice 19 instead of 10: with four hashes flat out, the event loop\'s wake-up ' +
      'delay p99 was 4.2 ms at nice 10 and 1.0-1.7 ms at nice 19 (measured by hand; hoster create unchanged).',
    '- A group-commit batch opens a savepoint per transaction, and SQLite spilled each savepoint\'s journal into a temporary file page by ' +
      'page past 64 KiB: `temp_store = MEMORY` keeps it in memory (src/store/dialect.ts; 14.7 -> 4.5 `pwrite64` per refresh, +10 % refreshes/s).',
    '- hoster create read the service key before its write: the lookup is now kept in a cache that the write itself confirms (the key live, ' +
      'the service account active with the same actions, its account active; src/core/service-accounts.ts), so on PostgreSQL a create is ' +
      'one statement instead of two (2.33 -> 1.21 per response, 0.57 -> 0.71 of pgbench).',
    '- Inside a group commit\'s batch, which holds the one SQLite connection, prepared statements ran through Kysely\'s executor, connection ' +
      'provider and driver, several turns of promises each: they now run synchronously on the connection (SqlDialect.direct; refresh 1.14x, ' +
      'create 1.07x the tree before, side by side).',
  );
  return out;
}
