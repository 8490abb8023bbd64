/**
 * A client of the hoster.by service-account scheme: the Access Key + Secret Key create a
 * JWT access token once; requests carry `Access-Token` and `X-User-Id`; the pair is refreshed when
 * `dateExpires` has passed or the API answers `access_token_expired`.
 *
 * @example
 * ```ts
 * const client = new HosterClient({
 *   baseUrl: 'http://localhost:8080',
 *   accessKey: process.env.ACCESS_KEY!,
 *   secretKey: process.env.SECRET_KEY!,
 * });
 * const info = await client.info();
 * ```
 */
import { UnexpectedResponseError } from './errors.ts';
import { type HttpOptions, joinUrl } from './http.ts';
import { SchemeClient, type Scheme } from './scheme-client.ts';
import type { TokenStore } from './store.ts';

export interface HosterTokens {
  scheme: 'hoster';
  userId: number;
  /** A JWT. */
  accessToken: string;
  refreshToken: string;
  /** Unix seconds: when the access token expires. */
  dateExpires: number;
}

export interface HosterKeys {
  accessKey: string;
  secretKey: string;
}

export interface HosterTokenInfo {
  userId: number;
  dateExpires: number;
  [key: string]: unknown;
}

export interface HosterClientOptions extends HttpOptions {
  /** Where tokend serves `/service/account/create/token` and `/token/…`. */
  baseUrl: string;
  /** Where the protected API lives, for relative paths given to `fetch`; defaults to `baseUrl`. */
  apiUrl?: string;
  accessKey?: string;
  secretKey?: string;
  /** Instead of `accessKey`/`secretKey`: called only when a new token must be created. */
  keys?: () => HosterKeys | Promise<HosterKeys>;
  store?: TokenStore<HosterTokens>;
  /**
   * Seconds before `dateExpires` at which the access token counts as expired, so it does not die in
   * flight. Default 5.
   */
  expirySkewSeconds?: number;
}

function hosterScheme(skewMs: number): Scheme<HosterTokens> {
  return {
    dialect: 'hoster',
    /** Codes meaning "this access token is no good": refresh, then retry. */
    invalidTokenCodes: new Set(['access_token_expired', 'access_token_not_found']),
    authorize(headers, tokens) {
      headers.set('access-token', tokens.accessToken);
      headers.set('x-user-id', String(tokens.userId));
    },
    isExpired: (tokens, nowMs) => Number.isFinite(tokens.dateExpires) && nowMs >= tokens.dateExpires * 1000 - skewMs,
    isTokens: (value): value is HosterTokens =>
      typeof value === 'object' && value !== null && (value as HosterTokens).scheme === 'hoster' &&
      typeof (value as HosterTokens).accessToken === 'string' && typeof (value as HosterTokens).refreshToken === 'string',
    /** The hoster.by success envelope `{"httpCode":200,"statusCode":"ok","payload":{…},…}`. */
    unwrap(body) {
      if (typeof body !== 'object' || body === null) return null;
      const b = body as { statusCode?: unknown; payload?: unknown };
      return b.statusCode === 'ok' && typeof b.payload === 'object' && b.payload !== null ? (b.payload as Record<string, unknown>) : null;
    },
    tokensOf(payload, status) {
      const p = payload as Partial<HosterTokens> | null;
      if (!p || typeof p.accessToken !== 'string' || typeof p.refreshToken !== 'string') {
        throw new UnexpectedResponseError(status, 'token response without accessToken/refreshToken');
      }
      return { scheme: 'hoster', userId: Number(p.userId), accessToken: p.accessToken, refreshToken: p.refreshToken, dateExpires: Number(p.dateExpires) };
    },
  };
}

export class HosterClient extends SchemeClient<HosterTokens> {
  readonly #keys: () => HosterKeys | Promise<HosterKeys>;

  constructor(options: HosterClientOptions) {
    const { accessKey, secretKey, keys } = options;
    if (!keys && (!accessKey || !secretKey)) throw new TypeError('HosterClient needs accessKey and secretKey, or keys()');
    super(options, hosterScheme((options.expirySkewSeconds ?? 5) * 1000));
    this.#keys = keys ?? (() => ({ accessKey: accessKey!, secretKey: secretKey! }));
  }

  /** `GET /token/info/access`: the user, expiry and actions of the current access token. */
  async info(): Promise<HosterTokenInfo> {
    return this.request<HosterTokenInfo>(joinUrl(this.baseUrl, '/token/info/access'));
  }

  /** `POST /service/account/create/token`. */
  protected async issue(): Promise<HosterTokens> {
    const keys = await this.#keys();
    return this.tokenCall('/service/account/create/token', { method: 'POST', headers: { 'access-key': keys.accessKey, 'secret-key': keys.secretKey } });
  }

  /** `PATCH /token/refresh` (refresh_token_expired / refresh_token_not_found: RefreshTokenRejectedError). */
  protected async renew(tokens: HosterTokens): Promise<HosterTokens> {
    return this.tokenCall('/token/refresh', { method: 'PATCH', headers: { 'x-user-id': String(tokens.userId), 'refresh-token': tokens.refreshToken } });
  }
}
