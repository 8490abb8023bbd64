/**
 * Sealing of private keys at rest: AES-256-GCM under a key derived from the master key
 * with HKDF-SHA-256. The associated data binds each ciphertext to its row (the kid), so a sealed
 * value copied onto another row does not open.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A 256-bit key for one purpose, derived from the master key (never used directly). */
export function deriveKey(masterKey: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(masterKey, 'utf8'), Buffer.from('tokend/master-key/v1'), Buffer.from(purpose), 32));
}

/** `v1.<iv>.<tag>.<ciphertext>` (base64url). */
export function seal(key: Buffer, plaintext: string, associatedData: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

/** Opens a sealed value; returns null when it was sealed under another key, for another row, or was altered. */
export function open(key: Buffer, sealed: string, associatedData: string): string | null {
  const [version, iv, tag, ct, ...rest] = sealed.split('.');
  if (version !== VERSION || !iv || !tag || ct === undefined || rest.length) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
