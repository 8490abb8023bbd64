/**
 * `Idempotency-Key` for the admin API's creating POSTs (docs/admin-api.md): the same key with the
 * same request within 24 h answers the first answer again; the same key with another request is a
 * conflict; a key whose first request is still running is refused until it answers. Keys are per
 * credential (the admin token, or one operator key), so two callers never see each other's answers.
 *
 * A creating answer may carry a secret shown once (an API token, a Secret Key, an operator key).
 * Replaying it must give the caller that secret again (the point of a retry after a lost answer),
 * so the answer is kept, but sealed (AES-256-GCM under a key derived from the master key, bound to
 * its credential, key and request): a copy of the database alone reveals nothing, and the record is
 * purged after 24 h.
 */
import { createHash } from 'node:crypto';
import type { Clock } from './clock.ts';
import { DAY_MS } from './clock.ts';
import type { Store } from './ports.ts';

/** How long a key is remembered. */
export const IDEMPOTENCY_TTL_MS = DAY_MS;
/**
 * A claim older than this whose request never answered (its node stopped mid-request) no longer
 * blocks the key: far above any request's time limit (TOKEND_REQUEST_TIMEOUT).
 */
const STALE_CLAIM_MS = 10 * 60_000;

/** Seals remembered answers at rest (src/signing/sealed.ts under the master key, wired in src/services.ts). */
export interface ReplySealer {
  seal(plaintext: string, associatedData: string): string;
  /** Null when it does not open (another master key, another record, altered). */
  open(sealed: string, associatedData: string): string | null;
}

export type IdempotencyStart =
  | { kind: 'run' }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'conflict' }
  | { kind: 'in_progress' };

export interface IdempotencyRequest {
  /** 'admin' for the admin token and the operator console, `key:<id>` for an operator key. */
  credential: string;
  key: string;
  /** SHA-256 of what makes the request this request (method, path, body): `requestHash()`. */
  requestHash: string;
}

/** The fingerprint of a request: method, path and body, with the body's object keys sorted. */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${canonicalJson(body)}`).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export class IdempotencyService {
  readonly #d: { store: Store; clock: Clock; sealer: ReplySealer };

  constructor(deps: { store: Store; clock: Clock; sealer: ReplySealer }) {
    this.#d = deps;
  }

  /** Claims the key for this request, or says what to answer instead. */
  async begin(request: IdempotencyRequest): Promise<IdempotencyStart> {
    const { store, clock, sealer } = this.#d;
    const now = clock.now();
    const held = await store.transaction((tx) =>
      tx.idempotency.claim(
        { credential: request.credential, key: storedKey(request), requestHash: request.requestHash, createdAt: now },
        // A record `TTL` old is gone: `before` is exclusive.
        { expiredBefore: now - IDEMPOTENCY_TTL_MS + 1, staleClaimBefore: now - STALE_CLAIM_MS + 1 },
      ),
    );
    if (held === null) return { kind: 'run' };
    if (held.requestHash !== request.requestHash) return { kind: 'conflict' };
    if (held.state !== 'done' || held.status === null || held.response === null) return { kind: 'in_progress' };
    const body = sealer.open(held.response, associatedData(request));
    // Sealed under another master key (or altered): the answer cannot be given again, and running
    // the request again could create a second record. A conflict tells the caller to use a new key.
    if (body === null) return { kind: 'conflict' };
    return { kind: 'replay', status: held.status, body };
  }

  /** Remembers the answer of a claimed request. */
  async finish(request: IdempotencyRequest, status: number, body: string): Promise<void> {
    const sealed = this.#d.sealer.seal(body, associatedData(request));
    await this.#d.store.idempotency.complete(request.credential, storedKey(request), status, sealed);
  }

  /** Lets the key go: the request was refused or failed, and changed nothing worth replaying. */
  async abandon(request: IdempotencyRequest): Promise<void> {
    await this.#d.store.idempotency.release(request.credential, storedKey(request));
  }
}

/**
 * The key as stored: its SHA-256. A client may pick anything as a key, a secret by mistake
 * included; storage never needs the key itself.
 */
function storedKey(request: IdempotencyRequest): string {
  return createHash('sha256').update(request.key).digest('hex');
}

function associatedData(request: IdempotencyRequest): string {
  return `idempotency\n${request.credential}\n${request.key}\n${request.requestHash}`;
}
