/**
 * A client of the hoster.by service-account scheme (seed 001): the Access Key + Secret Key create a
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
import { errorOfResponse, joinUrl, readJson, send, type FetchLike, type HttpOptions } from './http.ts';
import { RotatingSession, type SchemeAdapter } from './session.ts';
import { MemoryTokenStore, type TokenStore } from './store.ts';

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

/** Codes meaning "this access token is no good": refresh, then retry. */
const INVALID_ACCESS = new Set(['access_token_expired', 'access_token_not_found']);

function payloadOf(body: unknown): Record<string, unknown> | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as { statusCode?: unknown; payload?: unknown };
  return b.statusCode === 'ok' && typeof b.payload === 'object' && b.payload !== null ? (b.payload as Record<string, unknown>) : null;
}

function tokensOf(payload: Record<string, unknown> | null, status: number): HosterTokens {
  const p = payload as Partial<HosterTokens> | null;
  if (!p || typeof p.accessToken !== 'string' || typeof p.refreshToken !== 'string') {
    throw new UnexpectedResponseError(status, 'token response without accessToken/refreshToken');
  }
  return { scheme: 'hoster', userId: Number(p.userId), accessToken: p.accessToken, refreshToken: p.refreshToken, dateExpires: Number(p.dateExpires) };
}

export class HosterClient {
  readonly #session: RotatingSession<HosterTokens>;
  readonly #baseUrl: string;
  readonly #apiUrl: string;
  readonly #fetch: FetchLike;
  readonly #now: () => number;

  constructor(options: HosterClientOptions) {
    const { accessKey, secretKey, keys } = options;
    if (!keys && (!accessKey || !secretKey)) throw new TypeError('HosterClient needs accessKey and secretKey, or keys()');
    this.#baseUrl = options.baseUrl;
    this.#apiUrl = options.apiUrl ?? options.baseUrl;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#now = options.now ?? Date.now;
    const skewMs = (options.expirySkewSeconds ?? 5) * 1000;
    const adapter: SchemeAdapter<HosterTokens> = {
      dialect: 'hoster',
      invalidTokenCodes: INVALID_ACCESS,
      issue: async () => this.#create(keys ? await keys() : { accessKey: accessKey!, secretKey: secretKey! }),
      refresh: async (tokens) => this.#refresh(tokens),
      authorize(headers, tokens) {
        headers.set('access-token', tokens.accessToken);
        headers.set('x-user-id', String(tokens.userId));
      },
      isExpired: (tokens, nowMs) => Number.isFinite(tokens.dateExpires) && nowMs >= tokens.dateExpires * 1000 - skewMs,
      isTokens: (value): value is HosterTokens =>
        typeof value === 'object' && value !== null && (value as HosterTokens).scheme === 'hoster' &&
        typeof (value as HosterTokens).accessToken === 'string' && typeof (value as HosterTokens).refreshToken === 'string',
    };
    this.#session = new RotatingSession(adapter, options.store ?? new MemoryTokenStore(), this.#fetch, this.#now);
  }

  /**
   * `fetch` with `Access-Token` and `X-User-Id`; refreshes first when `dateExpires` has passed, and
   * once more (then retries once) when the API answers `access_token_expired`.
   */
  async fetch(path: string | URL, init?: RequestInit): Promise<Response> {
    return this.#session.fetch(joinUrl(this.#apiUrl, path), init);
  }

  /** Like {@link fetch}, for APIs answering in the hoster.by envelope: returns `payload` or throws a typed error. */
  async request<T = Record<string, unknown>>(path: string | URL, init?: RequestInit): Promise<T> {
    const response = await this.fetch(path, init);
    const body = await readJson(response);
    const payload = payloadOf(body);
    if (response.ok && payload) return payload as T;
    throw errorOfResponse('hoster', response, body, this.#now());
  }

  /** `GET /token/info/access`: the user, expiry and actions of the current access token. */
  async info(): Promise<HosterTokenInfo> {
    return this.request<HosterTokenInfo>(joinUrl(this.#baseUrl, '/token/info/access'));
  }

  async tokens(): Promise<HosterTokens> {
    return this.#session.tokens();
  }

  async forget(): Promise<void> {
    return this.#session.forget();
  }

  async #create(keys: HosterKeys): Promise<HosterTokens> {
    const response = await send(this.#fetch, joinUrl(this.#baseUrl, '/service/account/create/token'), {
      method: 'POST',
      headers: { 'access-key': keys.accessKey, 'secret-key': keys.secretKey },
    });
    const body = await readJson(response);
    if (!response.ok) throw errorOfResponse('hoster', response, body, this.#now());
    return tokensOf(payloadOf(body), response.status);
  }

  async #refresh(tokens: HosterTokens): Promise<HosterTokens> {
    const response = await send(this.#fetch, joinUrl(this.#baseUrl, '/token/refresh'), {
      method: 'PATCH',
      headers: { 'x-user-id': String(tokens.userId), 'refresh-token': tokens.refreshToken },
    });
    const body = await readJson(response);
    // refresh_token_expired / refresh_token_not_found become RefreshTokenRejectedError: one new token.
    if (!response.ok) throw errorOfResponse('hoster', response, body, this.#now());
    return tokensOf(payloadOf(body), response.status);
  }
}
