/**
 * Crash loops: a real `tokend serve` child process under load (tokens.make, refresh, check,
 * revoke; hoster.by token creation, refresh and check; API-token checks and revocations) is killed
 * with SIGKILL at random moments (once the load got a dozen answers from it) and restarted, again
 * and again, on SQLite and on PostgreSQL. Afterwards:
 *
 * - the database is sound: `PRAGMA integrity_check` and `foreign_key_check` (SQLite), and on both
 *   the row invariants of test/helpers/db-inspect.ts: no orphans, exactly one pair per session
 *   generation (no refresh token with two successors, one claim per generation), no quota counter
 *   above its limit and each equal to the sessions it paid for;
 * - every revocation that was acknowledged is still in force;
 * - the audit log's hash chain proves, every entry linked (those a kill left waiting included);
 * - every token that was returned to a client still works, unless it was revoked or rotated since;
 *   and no rotated-away or revoked token works again (checked during the load, and at the end);
 * - nothing the run issued (passwords, keys, tokens) appears in the processes' output.
 *
 * Requests whose outcome the client never learned (the process died under them) promise nothing
 * either way; the session they touched is left out of the checks, as a client would start over.
 *
 * Bounded in `npm test` (TOKEND_CRASH_CYCLES, default 5 per database); `npm run test:crash` runs 200.
 */
import { strict as assert } from 'node:assert';
import { appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { loadConfig } from '../../src/config/load.ts';
import { openServices } from '../../src/services.ts';
import { checkInvariants } from './db-inspect.ts';
import { TokendChild } from './child.ts';
import { createTestDatabase, testPasswordHasher, type DbKind } from './harness.ts';

const CYCLES = Number(process.env.TOKEND_CRASH_CYCLES ?? 5);
const WORKERS = 6;
// Enough accounts and keys that their daily quotas (reached early on purpose) do not starve a long run.
const USERS = Math.max(8, Math.ceil(CYCLES / 5));
const SERVICE_KEYS = Math.max(3, Math.ceil(CYCLES / 20));
const API_TOKENS = USERS * 2;
/** Low, so that the quota is reached and crossed under crashes. */
const MAKE_LIMIT = 6;
const SERVICE_CREATE_LIMIT = 8;
const FETCH_TIMEOUT_MS = 10_000;
/**
 * Answers the load must get between two kills, on top of the random delay: the delay alone would
 * let a busy machine (other suites beside this one) kill the process before it did anything.
 */
const ANSWERS_PER_CYCLE = 12;
/** How long to wait for those answers, or for the load to reach what the final checks need. */
const PROGRESS_WAIT_MS = 120_000;

type State = 'live' | 'revoked' | 'uncertain';

interface TrackedSession {
  kind: 'chatapp' | 'service';
  access: string;
  refresh: string;
  userId: string;
  state: State;
  busy: boolean;
}

interface TrackedApiToken {
  token: string;
  state: State;
  busy: boolean;
}

/** The outcome of a request as a client sees it: an answer, or nothing (it may or may not have happened). */
type Sent = { ok: true; status: number; body: any } | { ok: false; neverArrived: boolean };

function pick<T>(list: readonly T[]): T | undefined {
  return list.length ? list[Math.floor(Math.random() * list.length)] : undefined;
}

/**
 * The crash loop on one database: test/crash.sqlite.test.ts and test/crash.postgres.test.ts each
 * define one, so that the two run in parallel.
 */
export function crashLoop(db: DbKind): void {
  describe(`crash loop (${db})`, () => {
    it(`${CYCLES} SIGKILLs under load: no half-written record, no lost revocation, no lost token`, async (ctx) => {
      const started = Date.now();
      const database = await createTestDatabase(db, { migrated: true });
      const adminToken = `tdm_crash_${randomBytes(24).toString('hex')}`;
      const masterKey = randomBytes(32).toString('hex');
      const env: Record<string, string> = {
        TOKEND_ADMIN_TOKEN: adminToken,
        TOKEND_MASTER_KEY: masterKey,
        TOKEND_CHATAPP_DAILY_MAKE_LIMIT: String(MAKE_LIMIT),
        TOKEND_SERVICE_DAILY_CREATE_LIMIT: String(SERVICE_CREATE_LIMIT),
        TOKEND_LOG_LEVEL: 'info',
        // As in test/helpers/harness.ts: no lock queue of a loaded test machine reaches it.
        TOKEND_DATABASE_STATEMENT_TIMEOUT: '120s',
      };
      const secrets: string[] = [adminToken, masterKey];

      // Seed accounts, apps, service-account keys and API tokens before the first start.
      const config = loadConfig({
        env: {},
        overrides: {
          dataDir: database.dataDir,
          databaseUrl: database.url,
          adminToken,
          masterKey,
          chatappDailyMakeLimit: MAKE_LIMIT,
          serviceDailyCreateLimit: SERVICE_CREATE_LIMIT,
        },
      });
      // Passwords hashed at the tests' cost (real argon2id): every login of the run verifies one.
      const seeded = await openServices(config, { hasher: await testPasswordHasher() });
      const users: { email: string; password: string; appId: string }[] = [];
      const keys: { accessKey: string; secretKey: string }[] = [];
      const apiTokens: TrackedApiToken[] = [];
      try {
        const audit = { address: 'crash-test' };
        for (let i = 0; i < USERS; i++) {
          const email = `crash-${i}-${randomBytes(3).toString('hex')}@example.com`;
          const password = `pw-${randomBytes(12).toString('hex')}`;
          const account = await seeded.core.accounts.create({ email, password }, audit);
          const app = await seeded.core.accounts.createApp({ accountId: account.id, name: 'crash' }, audit);
          users.push({ email, password, appId: app.appId });
          secrets.push(password);
          if (i < SERVICE_KEYS) {
            const sa = await seeded.core.serviceAccounts.create({ accountId: account.id, name: 'crash', actions: ['dns_orders_list'] }, audit);
            const key = await seeded.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, audit);
            keys.push({ accessKey: key.key.accessKey, secretKey: key.secretKey });
            secrets.push(key.secretKey);
          }
          for (let k = 0; k < API_TOKENS / USERS; k++) {
            const format = (['v3', 'l3', 'native'] as const)[(i + k) % 3];
            const created = await seeded.core.apiTokens.create({ accountId: account.id, format }, audit);
            apiTokens.push({ token: created.token, state: 'live', busy: false });
            secrets.push(created.token);
          }
        }
      } finally {
        await seeded.close();
      }

      const child = new TokendChild({ dataDir: database.dataDir, databaseUrl: database.url, env });
      const sessions: TrackedSession[] = [];
      /** Access tokens replaced by a refresh the client saw succeed: they must never work again. */
      const retired: string[] = [];
      const violations: string[] = [];
      const ops = new Map<string, number>();
      let unknownOutcomes = 0;
      /** Requests the client got an answer to (progress, whatever the machine's speed). */
      let answered = 0;
      let stopping = false;

      const violation = (what: string): void => {
        if (violations.length < 50) violations.push(what);
      };
      const counted = (op: string): void => {
        ops.set(op, (ops.get(op) ?? 0) + 1);
      };

      async function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Sent> {
        const base = child.url;
        if (!base) return { ok: false, neverArrived: true };
        try {
          const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
          const text = await res.text();
          let parsed: unknown = null;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            parsed = text;
          }
          answered++;
          return { ok: true, status: res.status, body: parsed };
        } catch (error) {
          const code = (error as { cause?: { code?: string } }).cause?.code;
          // Refused: the request never reached a process. Anything else: it may have been handled.
          return { ok: false, neverArrived: code === 'ECONNREFUSED' };
        }
      }

      const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/x-www-form-urlencoded' };

      async function revoke(token: string): Promise<Sent> {
        return send('POST', '/oauth2/revoke', admin, new URLSearchParams({ token }).toString());
      }

      async function checkSession(s: TrackedSession): Promise<Sent> {
        return s.kind === 'chatapp'
          ? send('GET', '/v1/tokens/check', { authorization: s.access })
          : send('GET', '/token/info/access', { 'x-user-id': s.userId, 'access-token': s.access });
      }

      async function refreshSession(s: TrackedSession): Promise<Sent> {
        return s.kind === 'chatapp'
          ? send('POST', '/v1/tokens/refresh', { refresh: s.refresh })
          : send('PATCH', '/token/refresh', { 'x-user-id': s.userId, 'refresh-token': s.refresh });
      }

      function pairOf(s: TrackedSession['kind'], body: any): { access: string; refresh: string; userId: string } {
        const data = s === 'chatapp' ? body.data : body.payload;
        return { access: data.accessToken, refresh: data.refreshToken, userId: String(data.cabinetUserId ?? data.userId) };
      }

      /** One random operation, judged against what the client knows. */
      async function step(): Promise<void> {
        const roll = Math.random();
        if (roll < 0.14) {
          const u = pick(users)!;
          const r = await send('POST', '/v1/tokens', { 'content-type': 'application/json' }, JSON.stringify(u));
          counted('make');
          if (!r.ok) return void (r.neverArrived || unknownOutcomes++);
          if (r.status === 200) {
            const p = pairOf('chatapp', r.body);
            secrets.push(p.access, p.refresh);
            sessions.push({ kind: 'chatapp', ...p, state: 'live', busy: false });
          } else if (r.status !== 429) violation(`make: ${r.status} ${JSON.stringify(r.body)}`);
          return;
        }
        if (roll < 0.22 && keys.length) {
          const k = pick(keys)!;
          const r = await send('POST', '/service/account/create/token', { 'access-key': k.accessKey, 'secret-key': k.secretKey, 'content-type': 'application/json' });
          counted('hoster create');
          if (!r.ok) return void (r.neverArrived || unknownOutcomes++);
          if (r.status === 200) {
            const p = pairOf('service', r.body);
            secrets.push(p.access, p.refresh);
            sessions.push({ kind: 'service', ...p, state: 'live', busy: false });
          } else if (r.status !== 429) violation(`hoster create: ${r.status} ${JSON.stringify(r.body)}`);
          return;
        }
        if (roll < 0.3) {
          const t = pick(apiTokens.filter((x) => !x.busy && x.state !== 'uncertain'));
          if (!t) return;
          t.busy = true;
          try {
            if (t.state === 'live' && Math.random() < 0.15) {
              const r = await revoke(t.token);
              counted('api-token revoke');
              if (!r.ok) {
                if (!r.neverArrived) (t.state = 'uncertain'), unknownOutcomes++;
              } else if (r.status === 200) t.state = 'revoked';
              else violation(`api-token revoke: ${r.status}`);
              return;
            }
            const r = await send('GET', '/v3/security/api/auth/auth', { authorization: `Bearer ${t.token}` });
            counted('api-token check');
            if (!r.ok) return;
            if (t.state === 'live' && r.status !== 200) violation(`a live API token failed its check: ${r.status}`);
            if (t.state === 'revoked' && r.status !== 401) violation(`a revoked API token answered ${r.status}`);
          } finally {
            t.busy = false;
          }
          return;
        }
        if (roll < 0.36 && retired.length) {
          const access = pick(retired)!;
          const r = access.startsWith('tda_')
            ? await send('GET', '/v1/tokens/check', { authorization: access })
            : await send('GET', '/auth/verify', { authorization: `Bearer ${access}` });
          counted('rotated-away check');
          if (r.ok && r.status === 200) violation('an access token rotated away works again');
          return;
        }
        // Mostly live sessions (the ones with something to lose); revoked ones are checked now and then.
        const live = sessions.filter((x) => !x.busy && x.state === 'live');
        const revoked = sessions.filter((x) => !x.busy && x.state === 'revoked');
        const s = (Math.random() < 0.85 ? pick(live) : undefined) ?? pick(revoked) ?? pick(live);
        if (!s) return;
        s.busy = true;
        try {
          if (s.state === 'revoked') {
            const r = await checkSession(s);
            counted('revoked check');
            if (r.ok && r.status !== 401) violation(`a revoked ${s.kind} session answered ${r.status}`);
            return;
          }
          const kind = Math.random();
          if (kind < 0.45) {
            const r = await checkSession(s);
            counted('check');
            if (r.ok && r.status !== 200) violation(`a live ${s.kind} access token failed its check: ${r.status} ${JSON.stringify(r.body)}`);
          } else if (kind < 0.94) {
            const r = await refreshSession(s);
            counted('refresh');
            if (!r.ok) {
              if (!r.neverArrived) (s.state = 'uncertain'), unknownOutcomes++;
            } else if (r.status === 200) {
              retired.push(s.access);
              const p = pairOf(s.kind, r.body);
              secrets.push(p.access, p.refresh);
              s.access = p.access;
              s.refresh = p.refresh;
            } else violation(`a live ${s.kind} refresh token was refused: ${r.status} ${JSON.stringify(r.body)}`);
          } else {
            const r = await revoke(Math.random() < 0.5 ? s.refresh : s.access);
            counted('revoke');
            if (!r.ok) {
              if (!r.neverArrived) (s.state = 'uncertain'), unknownOutcomes++;
            } else if (r.status === 200) s.state = 'revoked';
            else violation(`revoke: ${r.status}`);
          }
        } finally {
          s.busy = false;
        }
      }

      async function worker(): Promise<void> {
        while (!stopping) {
          if (!child.url) {
            await sleep(20);
            continue;
          }
          await step();
        }
      }

      try {
        await child.start();
        const workers = Array.from({ length: WORKERS }, () => worker());
        /** Waits, up to PROGRESS_WAIT_MS, until `done()`; the load runs meanwhile. */
        const progress = async (done: () => boolean): Promise<void> => {
          const deadline = Date.now() + PROGRESS_WAIT_MS;
          while (!done() && Date.now() < deadline) await sleep(20);
        };
        for (let cycle = 0; cycle < CYCLES; cycle++) {
          const before = answered;
          await sleep(150 + Math.floor(Math.random() * 650));
          await progress(() => answered - before >= ANSWERS_PER_CYCLE);
          await child.stop('SIGKILL');
          await child.start();
          if (CYCLES >= 50 && (cycle + 1) % 25 === 0) {
            process.stderr.write(`crash ${db}: ${cycle + 1} cycles, ${violations.length} violations, ${Math.round((Date.now() - started) / 1000)} s\n`);
          }
        }
        await sleep(300);
        // What the checks below need the run to have done (a revoked session, a rotation): the
        // load goes on without kills until it has, however slow the machine.
        await progress(() => sessions.some((s) => s.state === 'revoked') && retired.length > 0);
        stopping = true;
        await Promise.all(workers);

        // After the last restart: every token the client holds is judged once more.
        for (const s of sessions) {
          if (s.state === 'uncertain') continue;
          const check = await checkSession(s);
          assert.ok(check.ok, 'the final check got no answer');
          if (s.state === 'live') {
            if (check.status !== 200) violation(`after the crashes, a live ${s.kind} access token fails: ${check.status}`);
            const r = await refreshSession(s);
            if (!r.ok || r.status !== 200) violation(`after the crashes, a live ${s.kind} refresh token fails: ${r.ok ? r.status : 'no answer'}`);
          } else {
            if (check.status !== 401) violation(`after the crashes, a revoked ${s.kind} session answers ${check.status}`);
            const r = await refreshSession(s);
            if (r.ok && r.status === 200) violation(`after the crashes, a revoked ${s.kind} session refreshes`);
          }
        }
        for (const access of retired.slice(-300)) {
          const r = access.startsWith('tda_')
            ? await send('GET', '/v1/tokens/check', { authorization: access })
            : await send('GET', '/auth/verify', { authorization: `Bearer ${access}` });
          if (r.ok && r.status === 200) violation('after the crashes, an access token rotated away works');
        }
        for (const t of apiTokens) {
          if (t.state === 'uncertain') continue;
          const r = await send('GET', '/v3/security/api/auth/auth', { authorization: `Bearer ${t.token}` });
          const expected = t.state === 'live' ? 200 : 401;
          if (!r.ok || r.status !== expected) violation(`after the crashes, a ${t.state} API token answers ${r.ok ? r.status : 'nothing'}`);
        }
      } finally {
        stopping = true;
        await child.stop('SIGTERM');
      }

      // The database, read directly once nothing runs.
      const inspect = await openServices(config, { migrate: false });
      let figures: Record<string, number> = {};
      try {
        const report = await checkInvariants(inspect.db.dialect.db as unknown as Kysely<any>, db, {
          dailyMakeLimit: MAKE_LIMIT,
          serviceDailyCreateLimit: SERVICE_CREATE_LIMIT,
        });
        for (const v of report.violations) violation(`database: ${v}`);
        figures = report.figures;
        // The audit chain survived every kill: entries committed but not yet linked when a process
        // died (PostgreSQL links after commit) are linked now, and the whole chain proves.
        const chain = await inspect.core.auditChain.verify();
        if (!chain.ok) violation(`audit chain: broken at seq ${chain.brokenAt.seq}: ${chain.reason}`);
        const waiting = await inspect.db.dialect.db.selectFrom('audit_events').select('id').where('chain_pending', 'is not', null).execute();
        if (waiting.length) violation(`audit chain: ${waiting.length} entries still waiting for their link after verify`);
        figures = { ...figures, auditChained: chain.ok ? chain.entries : -1 };
      } finally {
        await inspect.close();
        await database.drop();
      }

      // Nothing issued during the run was ever written out by a process.
      const output = child.output.join('\n');
      for (const s of secrets) if (s && output.includes(s)) violation(`a secret (${s.slice(0, 4)}…) appears in the process output`);
      const errors = child.output.filter((l) => /"level":(50|60)/.test(l));
      for (const e of errors.slice(0, 5)) violation(`error-level log line: ${e.slice(0, 400)}`);

      const summary = {
        test: 'crash',
        database: db,
        cycles: CYCLES,
        starts: child.starts,
        durationMs: Date.now() - started,
        sessions: sessions.length,
        revokedSessions: sessions.filter((s) => s.state === 'revoked').length,
        uncertainSessions: sessions.filter((s) => s.state === 'uncertain').length,
        revokedApiTokens: apiTokens.filter((t) => t.state === 'revoked').length,
        rotatedAway: retired.length,
        unknownOutcomes,
        ops: Object.fromEntries(ops),
        rows: figures,
        violations: violations.length,
      };
      ctx.diagnostic(JSON.stringify(summary));
      if (process.env.TOKEND_CRASH_REPORT) appendFileSync(process.env.TOKEND_CRASH_REPORT, `${JSON.stringify({ ...summary, at: new Date().toISOString() })}\n`);
      assert.deepEqual(violations, []);
      assert.ok(sessions.some((s) => s.state === 'revoked') && retired.length > 0, 'the load did too little to prove anything');
    });
  });
}
