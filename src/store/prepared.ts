/**
 * Queries built once, run many times. Kysely builds a query (immutable nodes, frozen at every
 * step) and compiles it to SQL on every call: for the one-row statements on tokend's hot paths
 * that is 80 % of their cost, about 40 µs against 10 µs for running the statement (bench/RESULTS.md).
 * The SQL of a given query never changes, only its values: so a prepared query is built once per
 * dialect with a stand-in object in place of each argument, compiled, and afterwards run with the
 * arguments put where their stand-ins were.
 *
 * The one rule for a builder: use each argument as a value (`where(col, '=', arg)`,
 * `values({ col: arg })`, `sql\`… ${arg}\``), never look at it (`arg === null ? … : …`), since it
 * sees the stand-ins only. An argument the compiled query does not carry is refused at first use.
 */
import { CompiledQuery, type Compilable, type DialectAdapter, type Kysely, type QueryResult } from 'kysely';
import type { DB } from './schema.ts';

/** Where argument `index` goes in the compiled parameters. */
class Slot {
  readonly index: number;
  constructor(index: number) {
    this.index = index;
  }
}

interface Template {
  sql: string;
  parameters: readonly unknown[];
}

export interface PreparedQuery<A extends unknown[], R> {
  /** Runs on `db` (the store's Kysely or a transaction) with the arguments: rows and counts. */
  run(db: Kysely<DB>, ...args: A): Promise<QueryResult<R>>;
  /** The first row, if any. */
  first(db: Kysely<DB>, ...args: A): Promise<R | undefined>;
  /** Rows inserted, updated or deleted. */
  affected(db: Kysely<DB>, ...args: A): Promise<number>;
}

export function prepared<A extends unknown[], R>(build: (db: Kysely<DB>, ...args: A) => Compilable<R>): PreparedQuery<A, R> {
  const arity = build.length - 1;
  // SQLite and PostgreSQL compile the same query differently: one template per dialect adapter
  // (a transaction shares its store's adapter).
  const templates = new WeakMap<DialectAdapter, Template>();

  function template(db: Kysely<DB>): Template {
    const adapter = db.getExecutor().adapter;
    let t = templates.get(adapter);
    if (t === undefined) {
      const slots = Array.from({ length: arity }, (_, i) => new Slot(i));
      const compiled = build(db, ...(slots as unknown as A)).compile();
      const used = new Set(compiled.parameters.flatMap((p) => (p instanceof Slot ? [p.index] : [])));
      if (used.size !== arity) throw new Error(`prepared query: each of its ${arity} arguments must appear as a value in: ${compiled.sql}`);
      t = { sql: compiled.sql, parameters: compiled.parameters };
      templates.set(adapter, t);
    }
    return t;
  }

  async function run(db: Kysely<DB>, ...args: A): Promise<QueryResult<R>> {
    const t = template(db);
    const parameters = t.parameters.map((p) => (p instanceof Slot ? args[p.index] : p));
    return db.executeQuery(CompiledQuery.raw(t.sql, parameters) as CompiledQuery<R>);
  }

  return {
    run,
    async first(db, ...args) {
      return (await run(db, ...args)).rows[0];
    },
    async affected(db, ...args) {
      return Number((await run(db, ...args)).numAffectedRows ?? 0n);
    },
  };
}
