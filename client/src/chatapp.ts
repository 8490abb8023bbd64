/**
 * A client of the ChatApp token scheme: `tokens.make` once, the raw access token in
 * `Authorization`, `tokens.refresh` only when the API answers `ApiInvalidTokenError`.
 *
 * @example
 * ```ts
 * const client = new ChatAppClient({
 *   baseUrl: 'http://localhost:8080',
 *   credentials: { email: 'me@example.com', password: process.env.PASSWORD!, appId: 'app_…' },
 *   store: new FileTokenStore('./tokens.json'),
 * });
 * const res = await client.fetch('/v1/tokens/check');
 * ```
 */
import { UnexpectedResponseError } from './errors.ts';
import { type HttpOptions, joinUrl } from './http.ts';
import { SchemeClient, type Scheme } from './scheme-client.ts';
import type { TokenStore } from './store.ts';

/** What the client saves: the `data` of tokens.make / tokens.refresh. */
export interface ChatAppTokens {
  scheme: 'chatapp';
  cabinetUserId: number;
  accessToken: string;
  /** Unix seconds. */
  accessTokenEndTime: number;
  refreshToken: string;
  /** Unix seconds. */
  refreshTokenEndTime: number;
}

export interface ChatAppCredentials {
  email: string;
  password: string;
  appId: string;
}

export interface ChatAppCheck {
  cabinetUserId: number;
  appId: string;
  accessTokenEndTime: number;
}

export interface ChatAppClientOptions extends HttpOptions {
  /** Where tokend serves `/v1/tokens…`. */
  baseUrl: string;
  /** Where the protected API lives, for relative paths given to `fetch`; defaults to `baseUrl`. */
  apiUrl?: string;
  /** The personal-cabinet credentials; a function is only called when a login is needed. */
  credentials: ChatAppCredentials | (() => ChatAppCredentials | Promise<ChatAppCredentials>);
  /** Defaults to a MemoryTokenStore; use a persistent one so restarts do not log in again. */
  store?: TokenStore<ChatAppTokens>;
  /** `Lang` header for the language of error messages (codes never change). */
  lang?: 'en' | 'ru';
}

const CHATAPP: Scheme<ChatAppTokens> = {
  dialect: 'chatapp',
  invalidTokenCodes: new Set(['ApiInvalidTokenError']),
  authorize(headers, tokens) {
    // Raw, as ChatApp documents it (tokend also takes `Bearer <t>`; other ChatApp servers may not).
    headers.set('authorization', tokens.accessToken);
  },
  isTokens: (value): value is ChatAppTokens =>
    typeof value === 'object' && value !== null && (value as ChatAppTokens).scheme === 'chatapp' &&
    typeof (value as ChatAppTokens).accessToken === 'string' && typeof (value as ChatAppTokens).refreshToken === 'string',
  /** The ChatApp success envelope `{"success":true,"data":{…}}`. */
  unwrap(body) {
    if (typeof body !== 'object' || body === null) return null;
    const b = body as { success?: unknown; data?: unknown };
    return b.success === true && typeof b.data === 'object' && b.data !== null ? (b.data as Record<string, unknown>) : null;
  },
  tokensOf(data, status) {
    const t = data as Partial<ChatAppTokens> | null;
    if (!t || typeof t.accessToken !== 'string' || typeof t.refreshToken !== 'string') {
      throw new UnexpectedResponseError(status, 'tokens response without accessToken/refreshToken');
    }
    return {
      scheme: 'chatapp',
      cabinetUserId: Number(t.cabinetUserId),
      accessToken: t.accessToken,
      accessTokenEndTime: Number(t.accessTokenEndTime),
      refreshToken: t.refreshToken,
      refreshTokenEndTime: Number(t.refreshTokenEndTime),
    };
  },
};

export class ChatAppClient extends SchemeClient<ChatAppTokens> {
  readonly #credentials: ChatAppClientOptions['credentials'];
  readonly #lang: 'en' | 'ru' | undefined;

  constructor(options: ChatAppClientOptions) {
    super(options, CHATAPP);
    this.#credentials = options.credentials;
    this.#lang = options.lang;
  }

  /** `tokens.check`: who the current access token belongs to and when it ends. */
  async check(): Promise<ChatAppCheck> {
    return this.request<ChatAppCheck>(joinUrl(this.baseUrl, '/v1/tokens/check'));
  }

  #headers(extra: Record<string, string>): Headers {
    const headers = new Headers(extra);
    if (this.#lang) headers.set('lang', this.#lang);
    return headers;
  }

  /** `tokens.make`. */
  protected async issue(): Promise<ChatAppTokens> {
    const c = typeof this.#credentials === 'function' ? await this.#credentials() : this.#credentials;
    return this.tokenCall('/v1/tokens', {
      method: 'POST',
      headers: this.#headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ email: c.email, password: c.password, appId: c.appId }),
    });
  }

  /** `tokens.refresh` (ApiInvalidRefreshTokenError / ApiRefreshTokenExpiredError: RefreshTokenRejectedError). */
  protected async renew(tokens: ChatAppTokens): Promise<ChatAppTokens> {
    return this.tokenCall('/v1/tokens/refresh', { method: 'POST', headers: this.#headers({ refresh: tokens.refreshToken }) });
  }
}
