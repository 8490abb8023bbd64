/** The `tokend` command. */
import { Command, CommanderError } from 'commander';
import { ConfigError } from './config/load.ts';
import { InvalidInputError, StoreUnavailableError } from './core/errors.ts';
import { registerAccountCommands } from './cli/accounts.ts';
import { registerApiTokenCommands } from './cli/api-tokens.ts';
import { registerAuditCommands } from './cli/audit.ts';
import { CliError, EXIT, type CliIO } from './cli/context.ts';
import { translateCoreError } from './cli/blame.ts';
import { registerOperatorKeyCommands } from './cli/operator-keys.ts';
import { registerServe } from './cli/serve.ts';
import { registerServiceAccountCommands } from './cli/service-accounts.ts';
import { registerPolicyCommands } from './cli/policies.ts';
import { registerSessionCommands } from './cli/sessions.ts';
import { DURATION_GRAMMAR } from './cli/duration.ts';
import { FROM_BUILD } from './layout.ts';
import { VERSION } from './version.ts';

/** Printed after `tokend --help`: how commands find tokend, the units, the exit codes (docs/cli.md). */
const HELP_FOOTER = `
Where a command runs:
  With --url URL (or TOKEND_URL) it calls that tokend's admin API, authenticated by the admin
  token or an operator key (tdp_…) in TOKEND_ADMIN_TOKEN (or --token). Without it, it opens the
  database of --data-dir / TOKEND_DATA_DIR (default ./data) or --database-url / TOKEND_DATABASE_URL,
  which must exist: only serve and migrate create a database. stderr names the one used.

Units:
  Durations: ${DURATION_GRAMMAR}; a bare number is refused.
  Times: Unix milliseconds with --json (as the admin API), ISO 8601 (UTC) in tables and text.

Exit codes:
  0  done
  1  failure: the database or the server is unavailable, or something unexpected went wrong
  2  usage: a wrong option, argument or setting, input refused as malformed, no database there
  3  not found: the account, token, key, session … named does not exist
  4  refused: a conflict (an email taken, already revoked), a missing permission, a wrong credential,
     too many attempts

Every command: tokend <command> --help; the reference: docs/cli.md.`;

export function buildProgram(io: CliIO): Command {
  const program = new Command('tokend')
    .description('Self-hosted API token service')
    .version(versionLine(), '-V, --version', 'print the version and which code runs (the compiled build or the sources)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', HELP_FOOTER);
  registerServe(program, io);
  registerAccountCommands(program, io);
  registerServiceAccountCommands(program, io);
  registerApiTokenCommands(program, io);
  registerSessionCommands(program, io);
  registerPolicyCommands(program, io);
  registerOperatorKeyCommands(program, io);
  registerAuditCommands(program, io);
  // Every command and group stops on its own errors instead of exiting the process (tests run it in-process).
  const exitOverride = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

/** Runs one command; returns the exit code (EXIT in src/cli/context.ts; docs/cli.md). */
export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (raw) {
    const error = translateCoreError(raw);
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof CliError) {
      io.err(`tokend: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof ConfigError) {
      io.err(`tokend: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof InvalidInputError) {
      io.err(`tokend: ${error.field} ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof StoreUnavailableError) {
      io.err(`tokend: the database is unavailable (${(error.cause as Error | undefined)?.message ?? 'no detail'})`);
      return EXIT.failure;
    }
    io.err(`tokend: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failure;
  }
}

/**
 * `tokend 0.1.0 (compiled build, dist/)`: bin/tokend.js loads this module from dist/ when the build
 * is current and from src/ otherwise (docs/operations.md, "Running from a build").
 */
function versionLine(): string {
  return `tokend ${VERSION} (${FROM_BUILD ? 'compiled build, dist/' : 'TypeScript sources, src/'})`;
}

function defaultIO(): CliIO {
  return {
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
    env: process.env,
    stdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}
