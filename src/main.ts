/** The `tokend` command. */
import { Command, CommanderError } from 'commander';
import { ConfigError } from './config/load.ts';
import { InvalidInputError, StoreUnavailableError } from './core/errors.ts';
import { registerAccountCommands } from './cli/accounts.ts';
import { registerApiTokenCommands } from './cli/api-tokens.ts';
import { registerAuditCommands } from './cli/audit.ts';
import { UsageError, type CliIO } from './cli/context.ts';
import { registerServe } from './cli/serve.ts';
import { registerServiceAccountCommands } from './cli/service-accounts.ts';
import { FROM_BUILD, VERSION } from './version.ts';

export function buildProgram(io: CliIO): Command {
  const program = new Command('tokend')
    .description('Self-hosted API token service')
    .version(versionLine(), '-V, --version', 'print the version and which code runs (the compiled build or the sources)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError();
  registerServe(program, io);
  registerAccountCommands(program, io);
  registerApiTokenCommands(program, io);
  registerServiceAccountCommands(program, io);
  registerAuditCommands(program, io);
  return program;
}

/** Runs one command; returns the exit code (0 ok, 1 failure, 2 usage or input error). */
export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof ConfigError) {
      io.err(`tokend: ${error.message}`);
      return 2;
    }
    if (error instanceof UsageError || error instanceof InvalidInputError) {
      io.err(`tokend: ${error instanceof InvalidInputError ? `${error.field} ${error.message}` : error.message}`);
      return 2;
    }
    if (error instanceof StoreUnavailableError) {
      io.err(`tokend: the database is unavailable (${(error.cause as Error | undefined)?.message ?? 'no detail'})`);
      return 1;
    }
    io.err(`tokend: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
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
  };
}
