/**
 * How commands print. With `--json`: one JSON object on stdout, times in Unix milliseconds (the
 * admin API's unit). Without: lines for a person, times in ISO 8601 (UTC), lists as tables with a
 * header row. Notes about the run (which database, the next page) go to stderr, so that stdout
 * holds only the answer.
 */
import type { CliIO } from './context.ts';

/** ISO 8601 in UTC, or `-` for none. */
export function iso(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString();
}

export interface Printer {
  readonly json: boolean;
  /** The answer: `value` as one JSON object with --json, else `human` line by line. */
  result(value: object, human: readonly string[] | (() => readonly string[])): void;
  /** A list: `{<key>: items, …extra}` with --json, else a table (or `empty` when there is nothing). */
  table<T>(key: string, items: readonly T[], columns: readonly Column<T>[], options: { empty: string; extra?: Record<string, unknown> }): void;
  /** A note on stderr (never with the answer on stdout). */
  note(line: string): void;
}

export interface Column<T> {
  header: string;
  value(row: T): string;
}

export function printer(io: CliIO, json: boolean | undefined): Printer {
  const asJson = json === true;
  return {
    json: asJson,
    result(value, human) {
      if (asJson) io.out(JSON.stringify(value));
      else for (const line of typeof human === 'function' ? human() : human) io.out(line);
    },
    table(key, items, columns, options) {
      if (asJson) {
        io.out(JSON.stringify({ [key]: items, ...options.extra }));
        return;
      }
      if (items.length === 0) {
        io.out(options.empty);
        return;
      }
      for (const line of formatTable(items, columns)) io.out(line);
    },
    note(line) {
      io.err(`tokend: ${line}`);
    },
  };
}

/** Columns padded to their widest cell, two spaces apart; the last one is not padded. */
export function formatTable<T>(items: readonly T[], columns: readonly Column<T>[]): string[] {
  const rows = [columns.map((c) => c.header), ...items.map((item) => columns.map((c) => oneLine(c.value(item))))];
  const widths = columns.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** A cell never breaks the table: control characters (a newline in a label) are shown escaped. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
  return cleaned === '' ? '-' : cleaned;
}
