/**
 * The one duration grammar of the command line: a whole number and a unit, always (`90s`, `15m`,
 * `24h`, `90d`), as the admin API takes them (`"expiresIn": "90d"`). A bare number is refused
 * rather than guessed: `--expires-in 90` has meant 90 seconds to one command and 90 days to a
 * reader. The value and its bounds are then read by the settings' parser (src/config/parsers.ts),
 * so the command line and the settings agree on what `24h` is.
 */
import { duration, formatDuration } from '../config/parsers.ts';
import { UsageError } from './context.ts';

export const DURATION_GRAMMAR = 'a whole number and a unit: s, m, h or d (90s, 15m, 24h, 90d)';

const WITH_UNIT = /^[0-9]{1,12}[smhd]$/;

/** Milliseconds of `raw`; UsageError naming `option` and the grammar when it is not one. */
export function parseDuration(raw: string, option: string, bounds: { min?: number; max?: number } = {}): number {
  const value = raw.trim();
  if (!WITH_UNIT.test(value)) {
    const hint = /^[0-9]+$/.test(value) ? ` (a unit is required: ${value}s, ${value}m, ${value}h or ${value}d?)` : '';
    throw new UsageError(`${option} must be a duration, ${DURATION_GRAMMAR}; got ${JSON.stringify(raw)}${hint}`);
  }
  const parsed = duration(bounds).parse(value);
  if (typeof parsed === 'object') throw new UsageError(`${option} ${parsed.error}, got ${JSON.stringify(raw)}`);
  return parsed;
}

/**
 * The same duration as the admin API takes it, after the same check, written the one way every
 * admin route reads (`010d` and `86400s` become `10d` and `1d`; zero is `0s`).
 */
export function durationText(raw: string, option: string, bounds: { min?: number; max?: number } = {}): string {
  const ms = parseDuration(raw, option, bounds);
  return ms === 0 ? '0s' : formatDuration(ms);
}
