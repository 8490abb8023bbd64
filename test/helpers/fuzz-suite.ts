/**
 * Fuzzing every route of every surface, on one database (test/fuzz.sqlite.test.ts and
 * test/fuzz.postgres.test.ts).
 *
 * Routes are enumerated from the app (an onRoute hook), so every route registered is covered,
 * including ones added after this file was written, plus a 404 probe per surface. Each request is
 * generated from its route's schema and beyond it: wrong types, missing and duplicated headers,
 * huge and non-UTF-8 values, wrong content types, truncated and deeply nested JSON, tokens of the
 * wrong kind, checksum-valid but unknown tokens, forged JWTs, credentials in query strings, broken
 * framing over a raw socket. Real credentials (one of each kind) take part of the requests past
 * authentication, so what lies behind it is fuzzed too.
 *
 * Pass: no status >= 500; the server stays up; every 4xx is in its surface's envelope with a
 * documented code; no response echoes a credential or a stack trace; and no stored record changes
 * because of a rejected request (every table is snapshotted around the requests; failed-login
 * counters and the audit log are the only things a rejected request may add to).
 *
 * Bounded in `npm test`; `npm run test:fuzz` runs the long pass (TOKEND_FUZZ_REQUESTS, default 100000
 * there). TOKEND_FUZZ_SEED replays a run; TOKEND_FUZZ_REPORT appends the figures as JSON lines.
 */
import { strict as assert } from 'node:assert';
import { appendFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { appendOnlyRows, checkInvariants, diffSnapshots, missingRows, onlyReuseRevocations, Snapshotter, type Snapshot } from './db-inspect.ts';
import { issueCredentials, testAdminToken } from './credentials.ts';
import { checkResponse, surfaceOf } from './envelopes.ts';
import { catalogue, rawCaseFor, requestFor, sendRaw, TokenPool, type FuzzContext, type FuzzRequest, type FuzzRoute } from './fuzz.ts';
import { startTokend, type DbKind, type TestTokend } from './harness.ts';
import { DIALECTS } from '../../src/http/dialects/index.ts';

const REQUESTS = Number(process.env.TOKEND_FUZZ_REQUESTS ?? 1500);
const SEED = Number(process.env.TOKEND_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Share of the requests sent as raw bytes over a socket rather than through inject(). */
const RAW_SHARE = 0.08;
/** Requests between two snapshots when none of them could legitimately write. */
const BATCH = 40;
const MAX_REPORTED = 15;
/** Requests between two fresh sets of real credentials. */
const CREDENTIALS_EVERY = 1500;

interface Failure {
  what: string;
  request: string;
}

function describeRequest(r: { method: string; url: string; route?: string; mutations?: string[]; headers?: Record<string, unknown> }): string {
  const headers = Object.entries(r.headers ?? {})
    .map(([k, v]) => `${k}=${JSON.stringify(Array.isArray(v) ? v.map((x) => String(x).slice(0, 60)) : String(v).slice(0, 60))}`)
    .join(' ');
  return `${r.method} ${r.url.slice(0, 120)} [${r.route ?? ''}] {${(r.mutations ?? []).join('; ')}} ${headers}`;
}

/** Static files and HEAD twins of GET routes run shared code: a quarter of the share of a real endpoint. */
function weightOf(route: FuzzRoute): number {
  if (route.method === 'HEAD') return 0.25;
  if (/^\/(docs\/static|console)\//.test(route.url) || /\.[a-z0-9]+$/i.test(route.url)) return 0.25;
  return 1;
}

/** 404 probes: one made-up path per surface, so that every surface's not-found path is fuzzed too. */
function probeRoutes(): FuzzRoute[] {
  const prefixes = new Set<string>(['/', '/oauth2/', '/api/admin/', '/api/cabinet/', '/.well-known/']);
  for (const { dialect } of DIALECTS) for (const p of dialect.prefixes) prefixes.add(p);
  return [...prefixes].flatMap((p) => [
    { method: 'GET', url: `${p}no-such-route`, schema: {} },
    { method: 'POST', url: `${p}no/such/:thing`, schema: {} },
  ]);
}

/**
 * The fuzz pass on one database: test/fuzz.sqlite.test.ts and test/fuzz.postgres.test.ts each
 * define one, so that the two run in parallel.
 */
export function fuzzEveryRoute(db: DbKind): void {
  describe(`fuzz every route (${db})`, () => {
    it('the snapshots this test relies on see a changed, an added and a removed row', async () => {
      const t = await startTokend({ db, config: { adminToken: testAdminToken() } });
      try {
        await issueCredentials(t);
        const kysely = t.services.db.dialect.db as unknown as Kysely<any>;
        const snap = await Snapshotter.create(kysely, db);
        assert.ok(snap.tables.includes('sessions') && snap.tables.includes('api_tokens'), snap.tables.join(','));
        const before = await snap.take();
        await kysely.updateTable('api_tokens').set({ label: 'changed' }).where('format', '=', 'v3').execute();
        assert.deepEqual(diffSnapshots(before, await snap.take()).map((c) => c.table), ['api_tokens']);
        const mid = await snap.take();
        await kysely.deleteFrom('instance_secrets').execute();
        await kysely.insertInto('instance_secrets').values({ name: 'x', hash: 'y', created_at: 1 }).execute();
        assert.deepEqual(diffSnapshots(mid, await snap.take()).map((c) => c.table), ['instance_secrets']);
        // What a rejected request may move: failed-login counters, the audit log, last-used times.
        const quiet = await snap.take();
        await t.core.store.counters.increment('login-fail:addr:test', 0, 1);
        await kysely.updateTable('api_tokens').set({ last_used_at: 1 }).execute();
        await kysely.insertInto('audit_events').values({ at: 1, type: 'x', account_id: null, session_id: null, address: null, detail: '{}' }).execute();
        assert.deepEqual(diffSnapshots(quiet, await snap.take()), []);
        // ... but the quota may not move.
        await t.core.store.counters.increment('make:a@b.c:app', 0, 1);
        assert.deepEqual(diffSnapshots(quiet, await snap.take()).map((c) => c.table), ['counters']);
        // A replayed refresh token revokes its session (RFC 9700): told apart from any other change.
        const [first, second] = await kysely.selectFrom('sessions').select('id').orderBy('id').limit(2).execute();
        const beforeReuse = await snap.take();
        await kysely.updateTable('sessions').set({ revoked_at: 1, revoke_reason: 'refresh_token_reuse' }).where('id', '=', first!.id).execute();
        const afterReuse = await snap.take();
        assert.ok(onlyReuseRevocations(beforeReuse, afterReuse));
        await kysely.updateTable('sessions').set({ revoked_at: 1, revoke_reason: 'revoked' }).where('id', '=', second!.id).execute();
        assert.ok(!onlyReuseRevocations(afterReuse, await snap.take()));
        assert.ok(!onlyReuseRevocations(beforeReuse, await snap.take()));
      } finally {
        await t.close();
      }
    });

    it("the invariants hold after an account's deletion (its quota counters outlive its apps, keys and sessions)", async () => {
      const t = await startTokend({ db, config: { adminToken: testAdminToken() } });
      try {
        const issued = await issueCredentials(t);
        const kysely = t.services.db.dialect.db as unknown as Kysely<any>;
        const options = { dailyMakeLimit: t.config.chatappDailyMakeLimit, serviceDailyCreateLimit: t.config.serviceDailyCreateLimit };
        const counted = await kysely.selectFrom('counters').select('scope').where((eb) => eb.or([eb('scope', 'like', 'make:%'), eb('scope', 'like', 'service-create:%')])).execute();
        assert.equal(counted.length, 2, 'a day of tokens.make and one of service token creations');
        assert.deepEqual((await checkInvariants(kysely, db, options)).violations, []);
        assert.equal(await t.core.accounts.delete(Number(issued.ids[0]), { address: 'fuzz' }), true);
        assert.deepEqual((await checkInvariants(kysely, db, options)).violations, []);
      } finally {
        await t.close();
      }
    });

    it(`${REQUESTS} generated requests: no 5xx, the surface's envelope on every 4xx, nothing changed by a rejection`, async (ctx) => {
      const t: TestTokend = await startTokend({ db, listen: true, config: { adminToken: testAdminToken() } });
      const started = Date.now();
      try {
        const pool = await TokenPool.withLookAlikes();
        const fuzzCtx: FuzzContext = { pool, ids: [], profiles: [] };
        /**
         * Issues a fresh set of real credentials. Accepted requests wear the old ones down (a sign-out,
         * a revoked key, a disabled account): a new set now and then keeps requests reaching past
         * authentication for the whole run.
         */
        const refreshCredentials = async (): Promise<void> => {
          const issued = await issueCredentials(t);
          issued.secrets.forEach((s) => pool.add('issued secret', s, true));
          for (const jwt of issued.jwts) pool.addForgeriesOf(jwt, 'service JWT');
          fuzzCtx.ids = issued.ids;
          fuzzCtx.profiles = issued.profiles;
          // A new client address too: the per-address failed-login limit (reached within a few
          // hundred requests, as it should be) would otherwise turn every later login into a 429.
          clientAddress = `10.77.${Math.floor(++credentialSets / 250)}.${credentialSets % 250}`;
        };
        let credentialSets = 0;
        let clientAddress = '10.77.0.0';
        await refreshCredentials();

        const routes = [...catalogue(t.routes), ...probeRoutes()];
        assert.ok(routes.some((r) => r.url === '/v1/tokens'), 'the route catalogue is empty or broken');
        const port = Number(new URL(t.url).port);

        // Draw the requests, deterministically for the seed: every route gets its share, static files
        // and the automatic HEAD twins a smaller one (they share their code with the rest).
        const totalWeight = routes.reduce((a, r) => a + weightOf(r), 0);
        // What to send, as (route, n) pairs: each request is generated when it is sent (a long run
        // holds 100k requests, some of them 300 kB, and need not hold them all at once).
        const work: { kind: 'inject' | 'raw'; route: number; n: number }[] = [];
        routes.forEach((route, i) => {
          const perRoute = Math.max(2, Math.ceil((REQUESTS * weightOf(route)) / totalWeight));
          const rawPerRoute = Math.max(1, Math.round(perRoute * RAW_SHARE));
          for (let n = 0; n < perRoute; n++) work.push({ kind: n < rawPerRoute ? 'raw' : 'inject', route: i, n });
        });
        // Interleave the routes, so that state left by one (a lockout, a revocation) meets the others.
        const order = fc.sample(fc.shuffledSubarray(work.map((_, i) => i), { minLength: work.length, maxLength: work.length }), { numRuns: 1, seed: SEED })[0]!;
        const seedOf = (w: { route: number; n: number }): number => (SEED ^ Math.imul(w.route + 1, 0x9e3779b1) ^ Math.imul(w.n + 1, 0x85ebca6b)) | 0;
        const requestArbs = new Map<number, ReturnType<typeof requestFor>>();
        const rawCases = new Map<FuzzRoute, ReturnType<typeof rawCaseFor>>();

        const kysely = t.services.db.dialect.db as unknown as Kysely<any>;
        const snap = await Snapshotter.create(kysely, db);
        const appendBefore = await appendOnlyRows(kysely, db);
        let base: Snapshot = await snap.take();
        /** What was sent since the last snapshot, described only if something went wrong. */
        let batch: (() => string)[] = [];
        const failures: Failure[] = [];
        const statuses = new Map<number, number>();
        const surfaces = new Map<string, number>();
        const routeHits = new Map<string, { total: number; ms: number; byStatus: Record<number, number> }>();
        let sent = 0;
        let raw = 0;
        let rawNoAnswer = 0;
        let unsendable = 0;
        let mutatingAccepted = 0;
        let snapshots = 0;

        const fail = (what: string, request: string): void => {
          failures.push({ what, request });
        };
        const count = (route: string, status: number, url: string, ms: number): void => {
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          const s = surfaceOf(url).name;
          surfaces.set(s, (surfaces.get(s) ?? 0) + 1);
          const hit = routeHits.get(route) ?? { total: 0, ms: 0, byStatus: {} };
          hit.total++;
          hit.ms += ms;
          hit.byStatus[status] = (hit.byStatus[status] ?? 0) + 1;
          routeHits.set(route, hit);
        };
        const checkBatch = async (): Promise<void> => {
          if (batch.length === 0) return;
          const now = await snap.take();
          snapshots++;
          const changes = diffSnapshots(base, now);
          if (changes.length) {
            fail(`records changed during a batch of requests without a real credential: ${JSON.stringify(changes).slice(0, 600)}`, batch.map((d) => d()).join('\n    '));
          }
          base = now;
          batch = [];
        };

        let sinceRefresh = 0;
        for (const index of order) {
          if (failures.length >= MAX_REPORTED) break;
          if (++sinceRefresh > CREDENTIALS_EVERY) {
            await checkBatch();
            await refreshCredentials();
            requestArbs.clear();
            rawCases.clear();
            base = await snap.take();
            sinceRefresh = 0;
          }
          if (REQUESTS >= 20_000 && sent > 0 && sent % 10_000 === 0) {
            process.stderr.write(`fuzz ${db}: ${sent} requests, ${failures.length} failures, ${Math.round((Date.now() - started) / 1000)} s\n`);
          }
          const item = work[index]!;
          const route = routes[item.route]!;
          if (item.kind === 'raw') {
            let arb = rawCases.get(route);
            if (!arb) rawCases.set(route, (arb = rawCaseFor(route, pool, t.config.maxHeaderSize)));
            const rc = fc.sample(arb, { numRuns: 1, seed: seedOf(item) })[0]!;
            const t0 = performance.now();
            const res = await sendRaw(port, rc.bytes, { endAfterWrite: rc.truncated === true });
            raw++;
            sent++;
            const label = `RAW ${rc.how} ${rc.path?.slice(0, 80) ?? ''}`;
            batch.push(() => label);
            if (!res) {
              rawNoAnswer++;
              if (!rc.truncated && rc.path !== null) fail('no response to a raw request', label);
              continue;
            }
            count(`RAW ${route.method} ${route.url}`, res.status, rc.path ?? '/', performance.now() - t0);
            const bad = checkResponse({ method: 'GET', url: rc.path ?? '/' }, res);
            if (bad) fail(bad, `${label} -> ${res.status} ${res.body.slice(0, 200)}`);
            if (batch.length >= BATCH) await checkBatch();
            continue;
          }
          let arb = requestArbs.get(item.route);
          if (!arb) requestArbs.set(item.route, (arb = requestFor(route, fuzzCtx)));
          const req: FuzzRequest = fc.sample(arb, { numRuns: 1, seed: seedOf(item) })[0]!;
          if (req.mayMutate) await checkBatch();
          let res;
          const t0 = performance.now();
          try {
            res = await t.app.inject({
              method: req.method as 'GET',
              url: req.url,
              headers: req.headers,
              remoteAddress: clientAddress,
              ...(req.payload !== undefined ? { payload: req.payload } : {}),
            });
          } catch (error) {
            // inject() refuses what no HTTP client could send (an invalid method name, say): not tokend's.
            unsendable++;
            if (!(error instanceof TypeError || (error as { code?: string }).code === 'ERR_INVALID_HTTP_TOKEN')) {
              fail(`inject threw ${(error as Error).message}`, describeRequest(req));
            }
            continue;
          }
          sent++;
          count(req.route, res.statusCode, req.url, performance.now() - t0);
          const status = res.statusCode;
          const label = (): string => describeRequest(req);
          const bad = checkResponse({ method: req.method, url: req.url }, { status: res.statusCode, headers: res.headers, body: res.body });
          if (bad) fail(bad, `${label()} -> ${res.statusCode} ${res.body.slice(0, 300)}`);
          if (res.statusCode >= 400) {
            for (const v of pool.all) {
              if (v.value.length >= 16 && res.body.includes(v.value)) fail(`an error body echoes a credential (${v.label})`, label());
            }
          }
          if (req.mayMutate) {
            const now = await snap.take();
            snapshots++;
            const changes = diffSnapshots(base, now);
            if (res.statusCode >= 400 && changes.length && !onlyReuseRevocations(base, now)) {
              fail(`a rejected request (${res.statusCode}) changed records: ${JSON.stringify(changes).slice(0, 600)}`, label());
            }
            if (res.statusCode < 400 && changes.length) mutatingAccepted++;
            base = now;
          } else {
            batch.push(() => `${label()} -> ${status}`);
            if (batch.length >= BATCH) await checkBatch();
          }
        }
        await checkBatch();

        // Still alive and still sound.
        const health = await fetch(`${t.url}/healthz`);
        assert.equal(health.status, 200, 'the server stopped answering');
        const ready = await fetch(`${t.url}/readyz`);
        assert.equal(ready.status, 200, 'the server lost its database');
        const appendAfter = await appendOnlyRows(kysely, db);
        for (const [table, rows] of appendBefore) {
          const missing = missingRows(rows, appendAfter.get(table) ?? []);
          if (missing.length) fail(`${missing.length} rows of the append-only ${table} were changed or removed`, missing.slice(0, 3).join('\n'));
        }
        const invariants = await checkInvariants(kysely, db, {
          dailyMakeLimit: t.config.chatappDailyMakeLimit,
          serviceDailyCreateLimit: t.config.serviceDailyCreateLimit,
        });
        for (const v of invariants.violations) fail(`invariant: ${v}`, '(database after the run)');
        const internal = t.logs.filter((l) => /"level":(50|60)/.test(l));
        if (internal.length) fail(`${internal.length} error-level log lines`, internal.slice(0, 3).join('\n').slice(0, 1500));

        const figures = {
          test: 'fuzz',
          database: db,
          seed: SEED,
          routes: routes.length,
          requests: sent,
          raw,
          rawNoAnswer,
          unsendable,
          mutatingAccepted,
          snapshots,
          status5xx: [...statuses].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0),
          statuses: Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])),
          surfaces: Object.fromEntries(surfaces),
          durationMs: Date.now() - started,
          failures: failures.length,
        };
        ctx.diagnostic(JSON.stringify(figures));
        if (process.env.TOKEND_FUZZ_REPORT) {
          appendFileSync(process.env.TOKEND_FUZZ_REPORT, `${JSON.stringify({ ...figures, at: new Date().toISOString(), routeHits: Object.fromEntries(routeHits) })}\n`);
        }
        assert.equal(
          failures.length,
          0,
          `seed ${SEED} (replay: TOKEND_FUZZ_SEED=${SEED} TOKEND_FUZZ_REQUESTS=${REQUESTS}):\n` +
            failures.map((f) => `- ${f.what}\n    ${f.request}`).join('\n'),
        );
        // Every registered route was exercised (nothing was silently skipped).
        for (const r of catalogue(t.routes)) {
          assert.ok(routeHits.has(`${r.method} ${r.url}`) || routeHits.has(`RAW ${r.method} ${r.url}`), `route ${r.method} ${r.url} got no request`);
        }
      } finally {
        await t.close();
      }
    });
  });
}
