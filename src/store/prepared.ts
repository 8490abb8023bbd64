/**
 * Queries built once, run many times. Kysely builds a query (immutable nodes, frozen at every
 * step) and compiles it to SQL on every call: for the one-row statements on tokend's hot paths
 * that is 80 % of their cost, about 40 µs against 10 µs for running the statement (bench/RESULTS.md).
 * The SQL of a given query never changes, only its values: so a prepared query is built once per
 * dialect with a stand-in object in place of each argument, compiled, and afterwards run with the
 * arguments put where their stand-ins were.
 *
 * The one rule for a builder: use each argument it reads as a value (`where(col, '=', arg)`,
 * `values({ col: arg })`, `sql\`… ${arg}\``), never look at it (`arg === null ? … : …`), since it
 * sees the stand-ins only. An argument the compiled query does not carry is refused at first use.
 */
import { CompiledQuery, type Compilable, type DialectAdapter, type Kysely, type QueryResult } from 'kysely';
import type { DB } from './schema.ts';

/**
 * Runs a statement at once, synchronously, on a connection that a transaction holds, and returns
 * what Kysely's driver would: SQLite's (src/store/dialect.ts). Through Kysely the same statement on
 * the same connection takes several turns of promises (executor, connection provider, driver):
 * about 5 µs a statement, and a ChatApp refresh runs eight in its transaction (bench/RESULTS.md).
 */
export type DirectRunner = (sql: string, parameters: readonly unknown[]) => QueryResult<unknown>;

const direct = new WeakMap<Kysely<DB>, DirectRunner>();

/**
 * From now on the prepared queries run on `trx` go straight to `runner`. Only for a transaction
 * that holds its connection for itself and whose callers await each statement before the next
 * (the group commit's batches): a query that Kysely built and still queues on `trx` would
 * otherwise be overtaken by a prepared one issued after it.
 */
export function runPreparedDirectly(trx: Kysely<DB>, runner: DirectRunner): void {
  direct.set(trx, runner);
}

/** Where the named argument goes in the compiled parameters. */
class Slot {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

interface Template {
  sql: string;
  parameters: readonly unknown[];
}

export interface PreparedQuery<A extends object, R> {
  /** Runs on `db` (the store's Kysely or a transaction) with the named arguments: rows and counts. */
  run(db: Kysely<DB>, args: A): Promise<QueryResult<R>>;
  /** The first row, if any. */
  first(db: Kysely<DB>, args: A): Promise<R | undefined>;
  /** Rows inserted, updated or deleted. */
  affected(db: Kysely<DB>, args: A): Promise<number>;
}

/**
 * A query built once per dialect from `build(db, args)`, where `args` is an object of named
 * arguments (`{ hash, now }`): names, not positions, so that two arguments of the same type cannot
 * trade places unnoticed at a call site.
 */
export function prepared<A extends object, R>(build: (db: Kysely<DB>, args: A) => Compilable<R>): PreparedQuery<A, R> {
  // SQLite and PostgreSQL compile the same query differently: one template per dialect adapter
  // (a transaction shares its store's adapter).
  const templates = new WeakMap<DialectAdapter, Template>();

  function template(db: Kysely<DB>): Template {
    const adapter = db.getExecutor().adapter;
    let t = templates.get(adapter);
    if (t === undefined) {
      // The stand-in arguments: each name the builder reads becomes a slot.
      const read = new Map<string, Slot>();
      const standIns = new Proxy(
        {},
        {
          get(_target, name) {
            if (typeof name !== 'string') return undefined;
            let slot = read.get(name);
            if (slot === undefined) read.set(name, (slot = new Slot(name)));
            return slot;
          },
        },
      ) as A;
      const compiled = build(db, standIns).compile();
      const used = new Set(compiled.parameters.flatMap((p) => (p instanceof Slot ? [p.name] : [])));
      const unused = [...read.keys()].filter((name) => !used.has(name));
      if (unused.length) throw new Error(`prepared query: each argument must appear as a value (${unused.join(', ')} does not) in: ${compiled.sql}`);
      t = { sql: compiled.sql, parameters: compiled.parameters };
      templates.set(adapter, t);
    }
    return t;
  }

  // Not async: a statement run directly answers without a turn of its own. Errors still reject.
  function run(db: Kysely<DB>, args: A): Promise<QueryResult<R>> {
    try {
      const t = template(db);
      const values = args as Record<string, unknown>;
      const parameters = t.parameters.map((p) => (p instanceof Slot ? values[p.name] : p));
      const runner = direct.get(db);
      if (runner === undefined) return db.executeQuery(CompiledQuery.raw(t.sql, parameters) as CompiledQuery<R>);
      return Promise.resolve(runner(t.sql, parameters) as QueryResult<R>);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  return {
    run,
    async first(db, args) {
      return (await run(db, args)).rows[0];
    },
    async affected(db, args) {
      return Number((await run(db, args)).numAffectedRows ?? 0n);
    },
  };
}
