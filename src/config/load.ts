import { TokendError } from '../core/errors.ts';
import { SETTINGS, type Config, type SettingName } from './schema.ts';

/** A setting that failed to parse; the message names the variable and the flag. */
export class ConfigError extends TokendError {
  override readonly code = 'ERR_TOKEND_CONFIG';
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(message);
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
  refuseRetired(env);
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
  const config = { ...(out as Config), ...sources.overrides };
  // Node refuses to start a server whose header timeout exceeds its request timeout.
  if (config.headersTimeout > config.requestTimeout) {
    throw new ConfigError('headersTimeout', `invalid setting TOKEND_HEADERS_TIMEOUT: must be at most TOKEND_REQUEST_TIMEOUT (${config.requestTimeout} ms)`);
  }
  return config;
}

/**
 * `TOKEND_TRUST_PROXY=true` trusted every hop, so the left-most `X-Forwarded-For` entry, which the
 * client writes, became its address: a client could choose the address the login limits and the
 * audit log record. It is refused rather than ignored, so that nobody upgrades into a node that
 * silently stops seeing client addresses behind its proxy.
 */
function refuseRetired(env: Record<string, string | undefined>): void {
  const raw = env.TOKEND_TRUST_PROXY?.trim().toLowerCase();
  if (raw === undefined || raw === '' || ['false', '0', 'no', 'off'].includes(raw)) return;
  throw new ConfigError(
    'trustProxy',
    'TOKEND_TRUST_PROXY is no longer supported: it trusted every hop, so a client could choose its own address. ' +
      'Set TOKEND_TRUSTED_PROXIES to the addresses or CIDR ranges of your reverse proxies instead (for example ' +
      'TOKEND_TRUSTED_PROXIES=127.0.0.1 for a proxy on the same machine, or 10.0.0.0/8), and unset TOKEND_TRUST_PROXY.',
  );
}
