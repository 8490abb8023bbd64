/**
 * Password hashing: argon2id with the OWASP Password Storage Cheat Sheet's first parameter set
 * (m = 19 MiB, t = 2, p = 1), through @node-rs/argon2 (PHC strings, prebuilt via npm, runs off
 * the event loop).
 */
import { hash, verify, type Algorithm } from '@node-rs/argon2';

// Algorithm is an ambient const enum (not importable as a value under verbatimModuleSyntax): 2 = Argon2id.
const ARGON2ID = 2 as Algorithm;

export interface PasswordHasherOptions {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

export const OWASP_ARGON2ID: PasswordHasherOptions = { memoryKiB: 19456, iterations: 2, parallelism: 1 };

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /**
   * Verifies a password against a stored hash. With `storedHash` null (unknown account) it verifies
   * against a dummy hash made with the same parameters, so an unknown email costs the same as a
   * wrong password, and returns false.
   */
  verify(storedHash: string | null, password: string): Promise<boolean>;
}

export async function createPasswordHasher(options: PasswordHasherOptions = OWASP_ARGON2ID): Promise<PasswordHasher> {
  const params = {
    algorithm: ARGON2ID,
    memoryCost: options.memoryKiB,
    timeCost: options.iterations,
    parallelism: options.parallelism,
  };
  const dummy = await hash('tokend-dummy-password-for-unknown-accounts', params);
  return {
    hash: (password) => hash(password, params),
    async verify(storedHash, password) {
      try {
        const ok = await verify(storedHash ?? dummy, password);
        return storedHash !== null && ok;
      } catch {
        return false;
      }
    },
  };
}
