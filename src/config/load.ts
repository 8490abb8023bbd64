import { TokendError } from '../core/errors.ts';
import { SETTINGS, type Config, type SettingName } from './schema.ts';

/** A setting that failed to parse; the message names the variable and the flag. */
export class ConfigError extends TokendError {
  override readonly code = 'ERR_TOKEND_CONFIG';
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}

export interface ConfigSources {
  /** Environment variables, usually `process.env`. */
  env?: Record<string, string | undefined>;
  /** Values from command-line flags, keyed by setting name; they win over the environment. */
  flags?: Partial<Record<SettingName, string | boolean | number>>;
  /** Typed overrides used by tests and embedding code; they win over everything. */
  overrides?: Partial<Config>;
}

/** Reads every setting from flags, then environment, then defaults. Throws ConfigError on a bad value. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]) {
    const fromFlag = sources.flags?.[name];
    const raw = fromFlag !== undefined ? String(fromFlag) : env[s.env];
    if (raw === undefined || (raw === '' && !(name === 'databaseUrl'))) {
      out[name] = s.default;
      continue;
    }
    const parsed = s.parser.parse(raw);
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
      const origin = fromFlag !== undefined && 'flag' in s ? `${s.flag} (${s.env})` : `${s.env}${'flag' in s ? ` (${s.flag})` : ''}`;
      const shown = 'secret' in s && s.secret ? '' : `, got ${JSON.stringify(raw.length > 80 ? raw.slice(0, 80) + '…' : raw)}`;
      throw new ConfigError(name, `invalid setting ${origin}: ${parsed.error}${shown}`);
    }
    out[name] = parsed;
  }
  return { ...(out as Config), ...sources.overrides };
}
