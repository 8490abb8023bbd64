/**
 * What every CLI command shares: the output streams, the errors that decide the exit code, and the
 * audit context of a change made from the command line.
 *
 * Exit codes (docs/cli.md, "Exit codes"; `tokend --help` says the same):
 *   0  done
 *   1  failure: the database or the server is unavailable, or something unexpected went wrong
 *   2  usage: a wrong option, argument or setting, input tokend refuses as malformed, no database where one was expected
 *   3  not found: the account, token, key, session … named does not exist
 *   4  refused: a conflict (an email taken), a missing permission, a wrong credential, a policy, too many attempts
 */
import { TokendError } from '../core/errors.ts';
import type { Services } from '../services.ts';

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
  /** All of stdin, for `--password-stdin`; absent: nothing to read. */
  stdin?: () => Promise<string>;
}

export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, refused: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports as one line and an exit code, never with a stack trace. */
export abstract class CliError extends TokendError {
  abstract readonly exitCode: ExitCode;
}

/** A user mistake on the command line or in a setting: exit code 2. */
export class UsageError extends CliError {
  override readonly code = 'ERR_TOKEND_USAGE';
  readonly exitCode = EXIT.usage;
}

/** The record a command names does not exist: exit code 3. */
export class NotFoundError extends CliError {
  override readonly code = 'ERR_TOKEND_NOT_FOUND';
  readonly exitCode = EXIT.notFound;
}

/** Refused: a conflict, a missing permission, a wrong credential, a limit: exit code 4. */
export class RefusedError extends CliError {
  override readonly code = 'ERR_TOKEND_REFUSED';
  readonly exitCode = EXIT.refused;
}

/** The server or the database could not be reached or failed: exit code 1. */
export class FailedError extends CliError {
  override readonly code = 'ERR_TOKEND_FAILED';
  readonly exitCode = EXIT.failure;
}

export const CLI_AUDIT = { address: 'cli' } as const;

/** One answer: `value` as one JSON object with --json, else `human` line by line (src/cli/output.ts has the full printer). */
export function printResult(io: CliIO, json: boolean | undefined, value: Record<string, unknown>, human: string[]): void {
  if (json) io.out(JSON.stringify(value));
  else for (const line of human) io.out(line);
}

/**
 * Opens the existing tokend database of the flags and environment for one command, says which on
 * stderr, runs `fn`, closes it; never creates one (src/cli/target.ts, withExistingDatabase).
 */
export async function withServices<T>(io: CliIO, flags: { dataDir?: string; databaseUrl?: string }, fn: (s: Services) => Promise<T>): Promise<T> {
  // Loaded on use: target.ts imports this module's errors.
  const { withExistingDatabase } = await import('./target.ts');
  return withExistingDatabase(io, flags, fn);
}
