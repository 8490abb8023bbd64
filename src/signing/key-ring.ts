/**
 * The JWT signing key ring: keys live in storage, their private parts sealed under the
 * master key; every node reads the same ring and agrees, from the clock alone, which key signs.
 *
 * Lifecycle of a key, decided by the ordered list of keys (activation time, then kid) and `now`:
 *
 *   pending   activatesAt > now: published in the JWKS, not signing yet (a rotation publishes the
 *             new key `TOKEND_SIGNING_KEY_PUBLISH_DELAY` before it signs, so verifiers that cache
 *             the JWKS learn it first);
 *   active    the last key with activatesAt <= now: it signs;
 *   retiring  superseded by the next key's activation, still published until the last token it
 *             can have signed has expired (successor's activation + its longest token lifetime);
 *   retired   past that: dropped from the JWKS, deleted at the next rotation.
 *
 * Signing never touches storage: it reads the ring loaded by `ready()`. That matters because
 * tokens are minted inside the session's transaction, and on SQLite a second query from inside it
 * would wait for the very connection the transaction holds.
 */
import { performance } from 'node:perf_hooks';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { audit, type AuditContext } from '../core/audit.ts';
import type { ChangeBus } from '../core/changes.ts';
import type { Clock } from '../core/clock.ts';
import { TokendError } from '../core/errors.ts';
import type { JwtAlgorithm, SigningKeyRecord } from '../core/model.ts';
import type { RotationResult, SigningKeyInfo, SigningKeys, SigningKeyState, Store } from '../core/ports.ts';
import type { MasterKey } from './master-key.ts';
import { deriveKey, open, seal } from './sealed.ts';

/** How long a node trusts its copy of the ring before reading it again (rotations also notify). */
export const RING_REFRESH_MS = 30_000;
/** An unknown kid makes the ring reload at most this often (real time), so random kids cannot hammer the database. */
const FORCED_RELOAD_MS = 1_000;
const INITIAL_KEY_SCOPE = 'signing-keys:initial';

export type { RotationResult, SigningKeyInfo, SigningKeyState } from '../core/ports.ts';

/** A stored signing key cannot be opened: the master key differs from the one that sealed it. */
export class SigningKeyUnavailableError extends TokendError {
  override readonly code = 'ERR_SIGNING_KEY_UNAVAILABLE';
  readonly kid: string;
  constructor(kid: string) {
    super(
      `signing key ${kid} cannot be opened with this master key: every node that shares the database must have the same ` +
        'TOKEND_MASTER_KEY (or the same <data dir>/master.key)',
    );
    this.kid = kid;
  }
}

/** Where each key stands at `now`; `rows` in ring order (activation time, then kid). */
export function keyStates(rows: readonly SigningKeyRecord[], now: number): SigningKeyInfo[] {
  let currentIndex = -1;
  rows.forEach((r, i) => {
    if (r.activatesAt <= now) currentIndex = i;
  });
  return rows.map((r, i) => {
    const next = rows[i + 1];
    const signsUntil = next ? next.activatesAt : null;
    const publishedUntil = signsUntil === null ? null : signsUntil + r.maxTokenTtlMs;
    let state: SigningKeyState;
    if (r.activatesAt > now) state = 'pending';
    else if (i === currentIndex) state = 'active';
    else state = publishedUntil !== null && now < publishedUntil ? 'retiring' : 'retired';
    return { kid: r.kid, alg: r.alg, createdAt: r.createdAt, activatesAt: r.activatesAt, state, signsUntil, publishedUntil };
  });
}

export interface KeyRingDeps {
  store: Store;
  clock: Clock;
  changes: ChangeBus;
  /** Resolved on first need (it may generate `<data dir>/master.key`). */
  masterKey: () => MasterKey;
  /** Algorithm of keys this node creates; existing keys keep theirs. */
  algorithm: JwtAlgorithm;
  /** The longest access-token lifetime this node signs: a key stays published that long after it stops signing. */
  maxTokenTtlMs: number;
  publishDelayMs: number;
}

export interface Signer {
  kid: string;
  alg: JwtAlgorithm;
  key: CryptoKey;
}

export class KeyRing implements SigningKeys {
  readonly #d: KeyRingDeps;
  #rows: SigningKeyRecord[] | null = null;
  #loadedAt = 0;
  #stale = false;
  #loading: Promise<void> | null = null;
  #lastUnknownKidReload = Number.NEGATIVE_INFINITY;
  #sealKey: Buffer | null = null;
  readonly #publicKeys = new Map<string, Promise<CryptoKey>>();
  readonly #privateKeys = new Map<string, Promise<CryptoKey>>();
  readonly #ttlRaised = new Set<string>();

  constructor(deps: KeyRingDeps) {
    this.#d = deps;
    deps.changes.subscribe((change) => {
      if (change.kind === 'signing_key') this.#stale = true;
    });
  }

  /**
   * Makes the ring ready to sign: reads it when stale, creates the first key on an empty ring,
   * opens the active key (a wrong master key fails here, loudly, not at the first token) and makes
   * sure every key that signs or will sign stays published for this node's token lifetime.
   * Call it outside any transaction, before minting.
   */
  async ready(): Promise<void> {
    if (this.#needsLoad()) await this.#load();
    if (!this.#current()) {
      await this.#createInitialKey();
      await this.#load();
    }
    const current = this.#current();
    if (!current) throw new Error('the signing key ring has no active key');
    await this.#privateKey(current);
    for (const info of keyStates(this.#rows ?? [], this.#d.clock.now())) {
      if ((info.state === 'active' || info.state === 'pending') && !this.#ttlRaised.has(info.kid)) {
        const row = this.#rows?.find((r) => r.kid === info.kid);
        if (row && row.maxTokenTtlMs < this.#d.maxTokenTtlMs) {
          await this.#d.store.signingKeys.raiseMaxTokenTtl(row.kid, this.#d.maxTokenTtlMs);
          row.maxTokenTtlMs = this.#d.maxTokenTtlMs;
        }
        this.#ttlRaised.add(info.kid);
      }
    }
  }

  /** The key that signs now, from the loaded ring only (no storage access: see the module comment). */
  async signer(): Promise<Signer> {
    const current = this.#current();
    if (!current) throw new Error('the signing key ring is not loaded: call ready() before minting');
    return { kid: current.kid, alg: current.alg, key: await this.#privateKey(current) };
  }

  /**
   * The public key for a kid, if that key may still verify a live token (pending, active or
   * retiring). An unknown kid reloads the ring (rate-limited) before it is refused, so a key
   * rotated in on another node is found.
   */
  async verificationKey(kid: string): Promise<{ alg: JwtAlgorithm; key: CryptoKey } | null> {
    if (this.#needsLoad()) await this.#load();
    let row = this.#published(kid);
    if (!row && !this.#rows?.some((r) => r.kid === kid)) {
      const t = performance.now();
      if (t - this.#lastUnknownKidReload >= FORCED_RELOAD_MS) {
        this.#lastUnknownKidReload = t;
        await this.#load();
        row = this.#published(kid);
      }
    }
    if (!row) return null;
    return { alg: row.alg, key: await this.#publicKey(row) };
  }

  /** The JWKS (RFC 7517): every key that may still verify a live token. */
  async jwks(): Promise<{ keys: JWK[] }> {
    // Read fresh: a key rotated in by the CLI or another node is published here at once, even where
    // no change notification reaches this process (SQLite). Concurrent requests share one read, so
    // a flood of JWKS requests keeps at most one query in flight. While the database is away, the
    // copy in memory is still the right answer (keys change only by rotation, which needs it too).
    try {
      await this.#load();
    } catch (error) {
      if (this.#rows === null) throw error;
    }
    if (!this.#current()) await this.ready();
    const now = this.#d.clock.now();
    const published = new Set(keyStates(this.#rows ?? [], now).filter((k) => k.state !== 'retired').map((k) => k.kid));
    const keys = (this.#rows ?? []).filter((r) => published.has(r.kid)).map((r) => JSON.parse(r.publicJwk) as JWK);
    return { keys };
  }

  /** Every stored key with its state, read fresh from storage. */
  async list(): Promise<SigningKeyInfo[]> {
    await this.#load();
    return keyStates(this.#rows ?? [], this.#d.clock.now());
  }

  /**
   * Adds a new key: published at once, signing after the publish delay (at once when the ring is
   * empty: nobody can hold a token yet). Deletes keys that can no longer verify any live token.
   * Refuses when this node cannot open the active key (a different master key would otherwise
   * leave the other nodes with a key they cannot use).
   */
  async rotate(ctx: AuditContext): Promise<RotationResult> {
    const { store, clock } = this.#d;
    await this.#load();
    const now = clock.now();
    const rows = this.#rows ?? [];
    const current = this.#current();
    if (current) await this.#privateKey(current);
    const activatesAt = current ? now + this.#d.publishDelayMs : now;
    const record = await this.#generate(now, activatesAt);
    const retired = keyStates(rows, now)
      .filter((k) => k.state === 'retired')
      .map((k) => k.kid);
    const previousKid = rows.at(-1)?.kid ?? null;
    await store.transaction(async (tx) => {
      await tx.signingKeys.insert(record);
      if (retired.length) await tx.signingKeys.delete(retired);
      await audit(tx.audit, clock, ctx, {
        type: 'signing_key.rotated',
        detail: { kid: record.kid, alg: record.alg, activatesAt, previousKid, deleted: retired },
      });
    });
    this.#d.changes.publish({ kind: 'signing_key', ids: [record.kid, ...retired] });
    await this.#load();
    const states = keyStates(this.#rows ?? [], now);
    const key = states.find((k) => k.kid === record.kid);
    if (!key) throw new Error('the new signing key is missing after rotation');
    return { key, previous: states.find((k) => k.kid === previousKid) ?? null, deleted: retired };
  }

  #needsLoad(): boolean {
    const now = this.#d.clock.now();
    return this.#rows === null || this.#stale || now - this.#loadedAt >= RING_REFRESH_MS || now < this.#loadedAt;
  }

  /** Reads the ring; concurrent callers share one read. */
  async #load(): Promise<void> {
    if (!this.#loading) {
      this.#stale = false;
      this.#loading = this.#d.store.signingKeys
        .list()
        .then((rows) => {
          this.#rows = rows;
          this.#loadedAt = this.#d.clock.now();
        })
        .finally(() => {
          this.#loading = null;
        });
    }
    return this.#loading;
  }

  #current(): SigningKeyRecord | null {
    const now = this.#d.clock.now();
    let current: SigningKeyRecord | null = null;
    for (const r of this.#rows ?? []) if (r.activatesAt <= now) current = r;
    return current;
  }

  #published(kid: string): SigningKeyRecord | null {
    const info = keyStates(this.#rows ?? [], this.#d.clock.now()).find((k) => k.kid === kid);
    if (!info || info.state === 'retired') return null;
    return this.#rows?.find((r) => r.kid === kid) ?? null;
  }

  /**
   * The first key of an empty ring. Of several nodes starting at once on one database, exactly one
   * creates it (a counter that only one caller can take, in the same transaction), so the nodes
   * never sign with two different "first" keys.
   */
  async #createInitialKey(): Promise<void> {
    const { store, clock } = this.#d;
    const now = clock.now();
    const record = await this.#generate(now, now);
    await store.transaction(async (tx) => {
      const won = await tx.counters.incrementBelow(INITIAL_KEY_SCOPE, 0, 1, Number.MAX_SAFE_INTEGER);
      // Also when the slot was taken but the ring is empty (keys deleted by hand): a ring needs a key.
      if (won === null && (await tx.signingKeys.list()).length > 0) return;
      await tx.signingKeys.insert(record);
      await audit(tx.audit, clock, { address: null }, { type: 'signing_key.created', detail: { kid: record.kid, alg: record.alg } });
    });
    this.#d.changes.publish({ kind: 'signing_key', ids: [record.kid] });
  }

  async #generate(now: number, activatesAt: number): Promise<SigningKeyRecord> {
    const alg = this.#d.algorithm;
    const { publicKey, privateKey } = await generateKeyPair(alg === 'EdDSA' ? 'Ed25519' : 'ES256', { extractable: true });
    const pub = await exportJWK(publicKey);
    const priv = await exportJWK(privateKey);
    // RFC 7638 thumbprint: a kid derived from the key itself, stable and collision-free.
    const kid = await calculateJwkThumbprint(pub, 'sha256');
    const publicJwk: JWK = { ...pub, kid, alg, use: 'sig' };
    return {
      kid,
      alg,
      publicJwk: JSON.stringify(publicJwk),
      privateJwkSealed: seal(this.#sealingKey(), JSON.stringify(priv), sealContext(kid)),
      createdAt: now,
      activatesAt,
      maxTokenTtlMs: this.#d.maxTokenTtlMs,
    };
  }

  #sealingKey(): Buffer {
    this.#sealKey ??= deriveKey(this.#d.masterKey().key, 'jwt-signing-keys');
    return this.#sealKey;
  }

  #privateKey(row: SigningKeyRecord): Promise<CryptoKey> {
    let key = this.#privateKeys.get(row.kid);
    if (!key) {
      const opened = open(this.#sealingKey(), row.privateJwkSealed, sealContext(row.kid));
      if (opened === null) return Promise.reject(new SigningKeyUnavailableError(row.kid));
      key = importJWK(JSON.parse(opened) as JWK, row.alg) as Promise<CryptoKey>;
      this.#privateKeys.set(row.kid, key);
    }
    return key;
  }

  #publicKey(row: SigningKeyRecord): Promise<CryptoKey> {
    let key = this.#publicKeys.get(row.kid);
    if (!key) {
      const { kid: _kid, use: _use, alg: _alg, ...jwk } = JSON.parse(row.publicJwk) as JWK;
      key = importJWK(jwk, row.alg) as Promise<CryptoKey>;
      this.#publicKeys.set(row.kid, key);
    }
    return key;
  }
}

function sealContext(kid: string): string {
  return `tokend signing key ${kid}`;
}
