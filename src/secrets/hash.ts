import { hash, timingSafeEqual } from 'node:crypto';

/**
 * SHA-256 of a high-entropy secret, hex. Enough for tokens: they carry >= 128 random
 * bits, so a slow KDF would add cost without adding security. Passwords use argon2id instead.
 */
export function sha256Hex(secret: string): string {
  // The one-shot crypto.hash(): a third of createHash()'s cost, on the path of every token check.
  return hash('sha256', secret, 'hex');
}

/** Constant-time string comparison; unequal lengths compare against a same-length dummy. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}
