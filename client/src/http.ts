/**
 * What every client shares: the fetch it was given, URL joining, reading the three envelopes and
 * turning an error response into a typed error. fetch only, so it runs in Node and browsers alike.
 */
import type { ApiDialect } from './codes.ts';
import { apiError, NetworkError, UnexpectedResponseError, type ApiError, type FieldError } from './errors.ts';

/** The subset of `fetch` the SDK uses; pass your own to add timeouts, tracing or a proxy. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface HttpOptions {
  /** Defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** Unix milliseconds; defaults to `Date.now`. Only used to turn `Retry-After` into a date. */
  now?: () => number;
}

/** `base` + `path`, keeping a path prefix in `base` (`https://api.example/v2` + `/orders`). */
export function joinUrl(base: string, path: string | URL): string {
  if (path instanceof URL) return path.toString();
  if (/^https?:\/\//i.test(path)) return path;
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

export async function send(fetchImpl: FetchLike, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetchImpl(url, init);
  } catch (error) {
    // An abort the caller asked for is theirs to see as is.
    if (error instanceof Error && error.name === 'AbortError') throw error;
    throw new NetworkError(`request to ${new URL(url).origin} failed`, { cause: error });
  }
}

/** The JSON body of a response, or `undefined` when it is empty or not JSON. */
export async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date), or undefined. */
export function retryAfterSeconds(response: Response, now: number): number | undefined {
  const raw = response.headers.get('retry-after')?.trim();
  if (!raw) return undefined;
  if (/^\d+$/.test(raw)) return Number(raw);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface WireError {
  code: string;
  message: string;
  fields?: FieldError[];
}

/**
 * The error of a response body in the dialect's envelope, or null when the body is not an error:
 * ChatApp `{success:false,error:{code,message}}`, hoster.by `{statusCode:"error",codeList:{error:[…]}}`,
 * Invoicebox and native `{error:{code,message}}`.
 */
export function wireErrorOf(dialect: ApiDialect, body: unknown): WireError | null {
  if (!isRecord(body)) return null;
  if (dialect === 'hoster') {
    const codes = isRecord(body.codeList) ? body.codeList.error : undefined;
    if (body.statusCode !== 'error' || !Array.isArray(codes) || typeof codes[0] !== 'string') return null;
    const messages = isRecord(body.messageList) && isRecord(body.messageList.error) ? body.messageList.error : {};
    const message = messages[codes[0]];
    return { code: codes[0], message: typeof message === 'string' ? message : codes[0] };
  }
  const error = body.error;
  if (!isRecord(error) || typeof error.code !== 'string') return null;
  const wire: WireError = { code: error.code, message: typeof error.message === 'string' ? error.message : error.code };
  if (Array.isArray(error.fields)) wire.fields = error.fields.filter(isRecord).map((f) => ({ name: String(f.name), code: String(f.code), message: String(f.message) }));
  return wire;
}

/** The typed error for a non-2xx response whose body was already read. */
export function errorOfResponse(dialect: ApiDialect, response: Response, body: unknown, now: number): ApiError | UnexpectedResponseError {
  const wire = wireErrorOf(dialect, body);
  if (!wire) return new UnexpectedResponseError(response.status, `unexpected HTTP ${response.status} without a ${dialect} error envelope`);
  const retryAfter = retryAfterSeconds(response, now);
  return apiError(wire.code, {
    dialect,
    status: response.status,
    message: wire.message,
    ...(wire.fields ? { fields: wire.fields } : {}),
    ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
    now,
  });
}

/** The wire error code of a response, read from a clone so the caller still gets the body. */
export async function peekErrorCode(dialect: ApiDialect, response: Response): Promise<string | null> {
  if (response.ok) return null;
  return wireErrorOf(dialect, await readJson(response.clone()))?.code ?? null;
}
