/**
 * Verification of opaque tokens (ChatApp access tokens, API tokens) through tokend's
 * `POST /oauth2/introspect` (RFC 7662), with a short cache so a busy API does not ask tokend on
 * every request. The cache is keyed by the SHA-256 of the token (the token itself is never kept),
 * bounded in size, and an active answer is never cached past the token's `exp`.
 *
 * The default cache time (5 s) matches tokend's documented revocation bound: a revoked
 * token stops working here within the same time as on tokend's own nodes.
 *
 * @example
 * ```ts
 * const introspect = createIntrospector({
 *   url: 'https://tokend.example/oauth2/introspect',
 *   credential: process.env.TOKEND_RESOURCE_CREDENTIAL!,
 * });
 * ```
 */
import type { FetchLike } from '../http.ts';
import { reject, scopeList, type VerifyResult } from './result.ts';
import type { TokenVerifier } from './jwt.ts';

export interface IntrospectorOptions {
  /** tokend's `/oauth2/introspect`. */
  url: string | URL;
  /** The admin token or a resource-server credential, sent as `Authorization: Bearer …`. */
  credential: string | (() => string | Promise<string>);
  /** How long an answer is reused, in ms. Default 5000; 0 disables the cache. */
  cacheTtlMs?: number;
  /** Most answers kept. Default 10 000 (oldest dropped first). */
  maxEntries?: number;
  /** Introspection request timeout. Default 5 s. */
  timeoutMs?: number;
  fetch?: FetchLike;
  now?: () => number;
}

interface CacheEntry {
  result: VerifyResult;
  until: number;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function createIntrospector(options: IntrospectorOptions): TokenVerifier {
  const ttl = options.cacheTtlMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const url = new URL(options.url).toString();
  const cache = new Map<string, CacheEntry>();
  // Concurrent requests with the same token share one introspection call.
  const inFlight = new Map<string, Promise<VerifyResult>>();

  function remember(key: string, result: VerifyResult): void {
    if (ttl <= 0) return;
    let until = now() + ttl;
    if (result.active && result.exp !== undefined) until = Math.min(until, result.exp * 1000);
    if (until <= now()) return;
    cache.delete(key);
    cache.set(key, { result, until });
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
  }

  async function ask(token: string): Promise<VerifyResult> {
    const credential = typeof options.credential === 'function' ? await options.credential() : options.credential;
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token }).toString(),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      });
    } catch (error) {
      return reject('unavailable', `introspection failed: ${(error as Error).name}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      // 401 here means our own credential is wrong: an operator problem, not the caller's token.
      return reject('unavailable', `introspection answered HTTP ${response.status}`);
    }
    let body: Record<string, unknown>;
    try {
      body = (await response.json()) as Record<string, unknown>;
    } catch {
      return reject('unavailable', 'introspection answered non-JSON');
    }
    if (body.active !== true) return reject('inactive');
    if (typeof body.sub !== 'string' || body.sub === '') return reject('unavailable', 'introspection answer without sub');
    return {
      active: true,
      source: 'introspection',
      sub: body.sub,
      scope: scopeList(body.scope),
      ...(typeof body.exp === 'number' ? { exp: body.exp } : {}),
      ...(typeof body.iat === 'number' ? { iat: body.iat } : {}),
      ...(typeof body.client_id === 'string' ? { clientId: body.client_id } : {}),
      ...(typeof body.token_type === 'string' ? { tokenType: body.token_type } : {}),
      claims: body,
    };
  }

  return async function introspect(token: string): Promise<VerifyResult> {
    const key = await sha256Hex(token);
    const hit = cache.get(key);
    if (hit && hit.until > now()) {
      if (!hit.result.active || hit.result.exp === undefined || hit.result.exp * 1000 > now()) return hit.result;
    }
    if (hit) cache.delete(key);
    const pending = inFlight.get(key);
    if (pending) return pending;
    const flight = ask(token)
      .then((result) => {
        if (!(result.active === false && result.reason === 'unavailable')) remember(key, result);
        return result;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, flight);
    return flight;
  };
}
