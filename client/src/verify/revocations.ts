/**
 * Revocations pushed by tokend (`GET /revocations/stream`, Server-Sent Events), so that a resource
 * server verifying access JWTs locally stops accepting a revoked session's tokens within about a
 * second instead of at their expiry. A revocation applies to tokens issued until it (`iat`): an
 * account disabled and enabled again has its new tokens accepted. The listener keeps what was revoked (sessions by `sid`,
 * keys by `client_id`, accounts by `sub`) for `retainMs`, longer than any access token lives, and
 * reconnects by itself, resuming after the last event it saw (`Last-Event-ID`), so none is missed.
 *
 * @example
 * ```ts
 * const revocations = createRevocationListener({
 *   url: 'https://tokend.example/revocations/stream',
 *   credential: process.env.TOKEND_RESOURCE_SERVER_CREDENTIAL!,
 * });
 * const verify = createJwtVerifier({ jwksUrl, issuer, audience, revocations });
 * ```
 */
import type { FetchLike } from '../http.ts';

export interface RevocationListenerOptions {
  /** tokend's `/revocations/stream`. */
  url: string | URL;
  /** A resource-server credential (`tdx_…`) or the admin token. */
  credential: string;
  /** How far back to catch up when it first connects: tokens issued before still live. Default 1 h (longer than TOKEND_SERVICE_ACCESS_TTL). */
  lookbackMs?: number;
  /** How long a revocation is kept (longer than any access token lives). Default 24 h. */
  retainMs?: number;
  fetch?: FetchLike;
  /** Told of each failed connection (it reconnects by itself). */
  onError?: (error: unknown) => void;
  now?: () => number;
}

/** What a token is checked against: its claims. */
export interface RevocationClaims {
  sid?: unknown;
  client_id?: unknown;
  sub?: unknown;
  /** Issued-at (seconds): a token issued after a revocation (a re-enabled account's) is not touched by it. */
  iat?: unknown;
}

export interface RevocationListener {
  /** True when the token's session, key or account was revoked. */
  isRevoked(claims: RevocationClaims): boolean;
  /** Resolves once the stream is open and has caught up (or rejects after `timeoutMs`). */
  ready(timeoutMs?: number): Promise<void>;
  close(): void;
}

type Kind = 'session' | 'key' | 'account' | 'api_token';

export function createRevocationListener(options: RevocationListenerOptions): RevocationListener {
  const doFetch: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const now = options.now ?? Date.now;
  const retainMs = options.retainMs ?? 86_400_000;
  // Per kind: id -> when it was revoked and until when the listener keeps it.
  const revoked: Record<Kind, Map<string, { at: number; until: number }>> = { session: new Map(), key: new Map(), account: new Map(), api_token: new Map() };
  const controller = new AbortController();
  let lastId: string | null = null;
  let connected = false;
  const waiting = new Set<() => void>();

  function remember(kind: Kind, id: string, at: number): void {
    const map = revoked[kind];
    map.delete(id);
    map.set(id, { at, until: now() + retainMs });
    // Forget the oldest beyond their retention, a few at a time (Map keeps insertion order).
    for (const [key, kept] of map) {
      if (kept.until > now()) break;
      map.delete(key);
    }
  }

  function onEvent(id: string | null, event: string, data: string): void {
    if (id !== null) lastId = id;
    if (event !== 'revoked') return;
    try {
      const r = JSON.parse(data) as { kind?: unknown; id?: unknown; at?: unknown };
      if (typeof r.id !== 'string' || typeof r.at !== 'number') return;
      if (r.kind === 'session' || r.kind === 'key' || r.kind === 'account' || r.kind === 'api_token') remember(r.kind, r.id, r.at);
    } catch {
      // Not an event of ours: ignored.
    }
  }

  async function connectOnce(): Promise<void> {
    const url = new URL(options.url);
    if (lastId === null) url.searchParams.set('since', String(now() - (options.lookbackMs ?? 3_600_000)));
    const res = await doFetch(url, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${options.credential}`, ...(lastId !== null ? { 'last-event-id': lastId } : {}) },
      signal: controller.signal,
    });
    if (res.status !== 200 || !res.body) throw new Error(`revocation stream answered ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let id: string | null = null;
    let event = 'message';
    let data: string[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (line === '') {
          if (data.length > 0 || id !== null) onEvent(id, event, data.join('\n'));
          id = null;
          event = 'message';
          data = [];
          continue;
        }
        if (line.startsWith(':')) {
          // The first comment arrives once the server has caught up on `since`: ready.
          if (!connected) {
            connected = true;
            for (const w of waiting) w();
            waiting.clear();
          }
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value2 = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = value2;
        else if (field === 'event') event = value2;
        else if (field === 'data') data.push(value2);
      }
    }
  }

  void (async () => {
    let delay = 500;
    while (!controller.signal.aborted) {
      try {
        await connectOnce();
        delay = 500;
      } catch (error) {
        if (controller.signal.aborted) return;
        options.onError?.(error);
      }
      connected = false;
      await new Promise((resolve) => setTimeout(resolve, delay).unref?.());
      delay = Math.min(delay * 2, 30_000);
    }
  })();

  return {
    isRevoked(claims) {
      // `iat` has whole seconds: a token of the revocation's own second counts as issued before it.
      const issuedAt = typeof claims.iat === 'number' ? claims.iat * 1000 : null;
      const live = (kind: Kind, id: unknown): boolean => {
        if (typeof id !== 'string') return false;
        const kept = revoked[kind].get(id);
        if (kept === undefined || kept.until <= now()) return false;
        return issuedAt === null || issuedAt <= kept.at;
      };
      return live('session', claims.sid) || live('key', claims.client_id) || live('account', claims.sub);
    },
    ready(timeoutMs = 10_000) {
      if (connected) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(done);
          reject(new Error('the revocation stream did not open in time'));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        waiting.add(done);
      });
    },
    close() {
      controller.abort();
    },
  };
}
