/** Typed parsers for settings given as strings (environment variables and flags). */

export type Parser<T> = { describe: string; parse(raw: string): T | { error: string } };

const DURATION_RE = /^(\d+)(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90d`, `24h`, `15m`, `10s`, `500ms`; a bare number is seconds. Result in milliseconds. */
export function duration(options: { min?: number; max?: number } = {}): Parser<number> {
  return {
    describe: 'duration (`500ms`, `10s`, `15m`, `24h`, `14d`; a bare number is seconds)',
    parse(raw) {
      const m = DURATION_RE.exec(raw.trim());
      if (!m) return { error: `must be a duration such as 10s, 15m, 24h or 14d` };
      const ms = Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS];
      if (!Number.isSafeInteger(ms)) return { error: 'is too large' };
      if (options.min !== undefined && ms < options.min) return { error: `must be at least ${formatDuration(options.min)}` };
      if (options.max !== undefined && ms > options.max) return { error: `must be at most ${formatDuration(options.max)}` };
      return ms;
    },
  };
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function integer(min: number, max: number): Parser<number> {
  return {
    describe: `integer from ${min} to ${max}`,
    parse(raw) {
      if (!/^-?\d+$/.test(raw.trim())) return { error: `must be an integer from ${min} to ${max}` };
      const n = Number(raw.trim());
      if (n < min || n > max) return { error: `must be an integer from ${min} to ${max}` };
      return n;
    },
  };
}

export function boolean(): Parser<boolean> {
  return {
    describe: 'boolean (`true`/`false`, `1`/`0`, `yes`/`no`)',
    parse(raw) {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      return { error: 'must be true or false' };
    },
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Parser<T> {
  return {
    describe: values.map((v) => `\`${v}\``).join(', '),
    parse(raw) {
      const v = raw.trim() as T;
      return values.includes(v) ? v : { error: `must be one of ${values.join(', ')}` };
    },
  };
}

export function text(options: { minLength?: number; pattern?: RegExp; patternDescription?: string } = {}): Parser<string> {
  return {
    describe: options.patternDescription ?? (options.minLength ? `string of at least ${options.minLength} characters` : 'string'),
    parse(raw) {
      if (options.minLength !== undefined && raw.length < options.minLength) {
        return { error: `must be at least ${options.minLength} characters long` };
      }
      if (options.pattern && raw !== '' && !options.pattern.test(raw)) {
        return { error: `must be ${options.patternDescription ?? 'well-formed'}` };
      }
      return raw;
    },
  };
}

/** A comma-separated list whose entries `check` compiles one by one (it throws on a bad one, which is named as `what`). */
function addressList(describe: string, check: (entries: string[]) => unknown, what: string): Parser<string[]> {
  return {
    describe,
    parse(raw) {
      const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
      for (const entry of entries) {
        try {
          check([entry]);
        } catch {
          return { error: `${JSON.stringify(entry)} is not ${what}` };
        }
      }
      return entries;
    },
  };
}

/**
 * A comma-separated list of proxy addresses and CIDR ranges, IPv4 or IPv6 (`10.0.0.0/8`,
 * `::1`, `fd00::/8`), or proxy-addr's names `loopback`, `linklocal`, `uniquelocal`. Each entry is
 * compiled by @fastify/proxy-addr, the library that then decides which hops are trusted, so what
 * the check accepts is exactly what the server will use; a bad entry is named.
 */
export function proxyList(compile: (entries: string[]) => unknown): Parser<string[]> {
  return addressList(
    'comma-separated addresses or CIDR ranges (`10.0.0.0/8`, `::1`, `loopback`)',
    compile,
    'an IP address, a CIDR range or one of loopback, linklocal, uniquelocal',
  );
}

/**
 * A comma-separated list of IP addresses and CIDR ranges (`10.0.0.0/8`, `127.0.0.1`, `fd00::/8`);
 * `check` throws on a bad entry, which is named.
 */
export function networkList(check: (entries: string[]) => unknown): Parser<string[]> {
  return addressList('comma-separated addresses or CIDR ranges (`10.0.0.0/8`, `127.0.0.1`, `fd00::/8`)', check, 'an IP address or a CIDR range');
}
