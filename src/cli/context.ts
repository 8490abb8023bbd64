/** What every CLI command shares: configuration from flags + environment, and output helpers. */
import { loadConfig } from '../config/load.ts';
import { TokendError } from '../core/errors.ts';
import type { Config, SettingName } from '../config/schema.ts';
import { openServices, type Services } from '../services.ts';

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
}

/** Raised for a user mistake: printed as one line, exit code 2, never a stack trace. */
export class UsageError extends TokendError {
  override readonly code = 'ERR_TOKEND_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type StoreFlags = { dataDir?: string; databaseUrl?: string };

export function configFrom(io: CliIO, flags: Partial<Record<SettingName, string | boolean | number>>): Config {
  const clean = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  return loadConfig({ env: io.env, flags: clean });
}

/** Opens the database (migrating it) for one command, runs `fn`, closes it. */
export async function withServices<T>(io: CliIO, flags: StoreFlags, fn: (s: Services) => Promise<T>): Promise<T> {
  // A one-shot command: SQLite's own checkpoint on close is enough, no thread for it.
  const services = await openServices(configFrom(io, flags), { backgroundCheckpoints: false, metrics: null });
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}

export function printResult(io: CliIO, json: boolean | undefined, value: Record<string, unknown>, human: string[]): void {
  if (json) io.out(JSON.stringify(value));
  else for (const line of human) io.out(line);
}

export const CLI_AUDIT = { address: 'cli' } as const;
