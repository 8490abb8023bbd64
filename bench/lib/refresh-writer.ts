/**
 * The ChatApp refresh's statements by hand (find, claim, advance, two inserts, the audit row), on
 * a database of tokend's schema, a batch of them per COMMIT, over 256 rotation chains of its own:
 * the SQLite floor's refresh (sqlite-floor.ts) and the SQL half of the writer-thread probe
 * (bench/writer-thread: on the server's event loop, or on a worker thread that owns the connection).
 */
import { createHash, randomBytes } from 'node:crypto';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { newRecordId } from '../../src/secrets/tokens.ts';

const POOL = 256;
const FAR = 9e15;

function hex(): string {
  return createHash('sha256').update(randomBytes(20)).digest('hex');
}

export class RefreshWriter {
  readonly #db: DatabaseSync;
  readonly #findRefresh: StatementSync;
  readonly #claim: StatementSync;
  readonly #advance: StatementSync;
  readonly #insAccess: StatementSync;
  readonly #insRefresh: StatementSync;
  readonly #audit: StatementSync;
  readonly #chains: { id: string; generation: number; refresh: string }[] = [];
  #n = 0;

  /**
   * Opens `file` (migrated, with account 1 in it: see seed) as tokend's writer does: with
   * `synchronous` FULL each COMMIT syncs the log itself; NORMAL leaves that to a WalSync thread.
   */
  constructor(file: string, walAutocheckpoint: number, synchronous: 'FULL' | 'NORMAL') {
    const db = (this.#db = new DatabaseSync(file));
    db.exec('pragma journal_mode = WAL');
    db.exec(`pragma synchronous = ${synchronous}`);
    db.exec('pragma foreign_keys = ON');
    db.exec(`pragma wal_autocheckpoint = ${walAutocheckpoint}`);
    this.#findRefresh = db.prepare('select * from refresh_tokens t join sessions s on s.id = t.session_id join accounts a on a.id = s.account_id where t.hash = +?');
    this.#claim = db.prepare('update refresh_tokens set rotated_at = ? where hash = +? and rotated_at is null');
    this.#advance = db.prepare('update sessions set generation = ? where id = +? and generation = +? and revoked_at is null');
    this.#insAccess = db.prepare('insert into access_tokens (hash, session_id, generation, created_at, expires_at) values (?, ?, ?, ?, ?)');
    this.#insRefresh = db.prepare('insert into refresh_tokens (hash, session_id, generation, created_at, expires_at, rotated_at) values (?, ?, ?, ?, ?, null)');
    this.#audit = db.prepare(`insert into audit_events (at, type, account_id, session_id, address, detail) values (?, ?, 1, ?, '127.0.0.1', ?)`);
    const insSession = db.prepare(`insert into sessions (id, account_id, kind, client_id, scope, generation, created_at, expires_at, revoked_at, revoke_reason) values (?, 1, 'chatapp', 'app', '', 1, 0, ?, null, null)`);
    db.exec('begin');
    for (let i = 0; i < POOL; i++) {
      const id = newRecordId();
      const refresh = hex();
      insSession.run(id, FAR);
      this.#insAccess.run(hex(), id, 1, 0, FAR);
      this.#insRefresh.run(refresh, id, 1, 0, FAR);
      this.#chains.push({ id, generation: 1, refresh });
    }
    db.exec('commit');
  }

  /** Seeds the account the chains belong to (once per database). */
  static seed(file: string): void {
    const db = new DatabaseSync(file);
    db.prepare(`insert into accounts (id, uid, email, password_hash, name, status, is_demo, created_at) values (1, ?, 'probe@bench.example', 'x', null, 'active', 0, 0)`).run(newRecordId());
    db.close();
  }

  /** `count` refreshes in one transaction, committed (with FULL, on disk on return). */
  batch(count: number): void {
    this.#db.exec('begin');
    try {
      for (let k = 0; k < count; k++) {
        const c = this.#chains[this.#n++ % POOL]!;
        const now = Date.now();
        this.#findRefresh.get(c.refresh);
        this.#claim.run(now, c.refresh);
        this.#advance.run(c.generation + 1, c.id, c.generation);
        c.generation++;
        c.refresh = hex();
        this.#insAccess.run(hex(), c.id, c.generation, now, FAR);
        this.#insRefresh.run(c.refresh, c.id, c.generation, now, FAR);
        this.#audit.run(now, 'session.refreshed', c.id, '{"kind":"chatapp","generation":2}');
      }
      this.#db.exec('commit');
    } catch (error) {
      this.#db.exec('rollback');
      throw error;
    }
  }

  close(): void {
    this.#db.close();
  }
}
