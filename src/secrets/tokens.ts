/**
 * Native token format: `<prefix>_<random base62><6-char base62 CRC32>`.
 *
 * 160 random bits (27 base62 characters) from the CSPRNG, then a CRC32 of everything before it,
 * so that a typo or a truncated paste is rejected before any storage lookup, and secret scanners
 * can tell a real tokend secret from a look-alike without calling the server.
 */
import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { crc32 } from 'node:zlib';
import { sha256Hex } from './hash.ts';

/** The prefix of every kind of secret tokend issues. Public API: scanners match on these. */
export const TOKEN_PREFIXES = {
  access: 'tda',
  refresh: 'tdr',
  secretKey: 'tds',
  apiToken: 'tdo',
  admin: 'tdm',
  resourceServer: 'tdx',
  consoleSession: 'tdc',
  operatorKey: 'tdp',
  passwordReset: 'tdw',
} as const;

export type TokenKind = keyof typeof TOKEN_PREFIXES;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_BYTES = 20;
const RANDOM_CHARS = 27; // ceil(160 / log2(62))
const CHECKSUM_CHARS = 6; // ceil(32 / log2(62))
const BODY_RE = /^[0-9A-Za-z]+$/;

/**
 * Random bytes for new secrets, drawn from the CSPRNG a pool at a time. Each call into it costs
 * the same fixed overhead whatever the size (tens of microseconds on a busy machine, for 20 bytes
 * as for 4 KiB; measured in bench/RESULTS.md), and two tokens are minted per issuance or refresh.
 * Node's randomUUID pools the same way. Each byte is handed out once and wiped once read.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

/** `n` fresh random bytes, passed to `use` and wiped after it returned (use them synchronously). */
function withRandom<T>(n: number, use: (bytes: Buffer) => T): T {
  if (poolOffset + n > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + n);
  poolOffset += n;
  try {
    return use(bytes);
  } finally {
    bytes.fill(0);
  }
}

/**
 * The random part in base62: the 20 random bytes read as one 160-bit big-endian number, written
 * with RANDOM_CHARS digits (leading zeros kept). Long division by 62 over five 32-bit limbs, in
 * plain numbers (each step stays below 2^38): the same digits as BigInt arithmetic, without
 * allocating a BigInt per digit (tokens are minted on every issuance and refresh).
 */
export function base62Random(bytes: Buffer): string {
  const limbs = [bytes.readUInt32BE(0), bytes.readUInt32BE(4), bytes.readUInt32BE(8), bytes.readUInt32BE(12), bytes.readUInt32BE(16)];
  const digits = new Array<string>(RANDOM_CHARS);
  for (let d = RANDOM_CHARS - 1; d >= 0; d--) {
    let rem = 0;
    for (let i = 0; i < limbs.length; i++) {
      const cur = rem * 0x1_0000_0000 + limbs[i]!;
      limbs[i] = Math.floor(cur / 62);
      rem = cur - limbs[i]! * 62;
    }
    digits[d] = ALPHABET[rem]!;
  }
  return digits.join('');
}

/** A 32-bit unsigned value in base62, `width` digits. */
function base62u32(value: number, width: number): string {
  let out = '';
  for (let v = value; v > 0; v = Math.floor(v / 62)) out = ALPHABET[v % 62] + out;
  return out.padStart(width, '0');
}

function checksum(text: string): string {
  return base62u32(crc32(text), CHECKSUM_CHARS);
}

export interface NewToken {
  /** The secret itself: shown once, never stored. */
  token: string;
  /** SHA-256 (hex) of the token: what storage keeps. */
  hash: string;
  /** A display form that is safe to list: prefix and a few characters, then the last 4. */
  hint: string;
}

/** Generates a fresh native token of the given kind. */
export function newToken(kind: TokenKind): NewToken {
  const random = withRandom(RANDOM_BYTES, base62Random);
  const head = `${TOKEN_PREFIXES[kind]}_${random}`;
  const token = head + checksum(head);
  return { token, hash: sha256Hex(token), hint: tokenHint(token) };
}

/**
 * Builds a checksum-valid native token from a chosen body (27 base62 characters). Only for
 * published, deliberately well-known values such as the demo sandbox's Secret Key:
 * anything real comes from newToken(). Throws on a body of the wrong shape.
 */
export function nativeTokenFromBody(kind: TokenKind, body: string): string {
  if (body.length !== RANDOM_CHARS || !BODY_RE.test(body)) {
    throw new Error(`a native token body is ${RANDOM_CHARS} base62 characters`);
  }
  const head = `${TOKEN_PREFIXES[kind]}_${body}`;
  return head + checksum(head);
}

/** `tdo_AbC…wxyz`: enough to recognise a token in a list, far too little to use it. */
export function tokenHint(token: string): string {
  const start = token.includes('_') ? token.slice(0, token.indexOf('_') + 4) : token.slice(0, 4);
  return `${start}…${token.slice(-4)}`;
}

/** The longest token any tokend route looks at; longer input is rejected without hashing it. */
export const MAX_TOKEN_LENGTH = 4096;

/**
 * Checks shape and checksum of a candidate native token offline, without storage.
 * Returns the kind, or null when the candidate is not a well-formed tokend token.
 * Exported for secret scanners (docs/secret-scanning.md).
 */
export function parseNativeToken(candidate: string): TokenKind | null {
  if (candidate.length !== 4 + RANDOM_CHARS + CHECKSUM_CHARS) return null;
  const prefix = candidate.slice(0, 3);
  const kind = (Object.keys(TOKEN_PREFIXES) as TokenKind[]).find((k) => TOKEN_PREFIXES[k] === prefix);
  if (kind === undefined || candidate[3] !== '_') return null;
  const body = candidate.slice(4);
  if (!BODY_RE.test(body)) return null;
  const head = candidate.slice(0, candidate.length - CHECKSUM_CHARS);
  return checksum(head) === candidate.slice(-CHECKSUM_CHARS) ? kind : null;
}

/** True when the candidate is a well-formed native token of exactly this kind. */
export function isNativeToken(candidate: string, kind: TokenKind): boolean {
  return parseNativeToken(candidate) === kind;
}

/**
 * A public record identifier (not a secret): UUID v7, 48 bits of time then 74 random bits. Ids in
 * creation order land at the end of their primary-key b-tree instead of at a random page of it,
 * which for the rows written on every issuance (sessions) is a page less to write per insert.
 * What it reveals, the creation time to the millisecond, every view of such a record shows anyway.
 */
export function newRecordId(): string {
  return uuidv7();
}

/** 32 lower-case hex characters: the v3 / l3 API-token body (128 bits). */
export function newHex128(): string {
  return withRandom(16, (bytes) => bytes.toString('hex'));
}
