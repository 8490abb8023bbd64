/**
 * The master key (docs/operations.md): the secret every sealing key is derived from. TOKEND_MASTER_KEY when
 * set (any string of at least 32 characters); otherwise `<data dir>/master.key`, generated on first
 * need with mode 0600. Nodes that share a database must share it: a node with another master key
 * cannot open the signing keys the others sealed.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokendError } from '../core/errors.ts';

export const MASTER_KEY_MIN_LENGTH = 32;
export const MASTER_KEY_FILE = 'master.key';

export interface MasterKey {
  key: string;
  /** `config`: TOKEND_MASTER_KEY; `file`: read from the data dir; `generated`: just written there. */
  source: 'config' | 'file' | 'generated';
  path: string | null;
}

/** Thrown when the master key file exists but cannot serve as one. */
export class MasterKeyError extends TokendError {
  override readonly code = 'ERR_TOKEND_MASTER_KEY';
}

function readKeyFile(path: string): string {
  const key = readFileSync(path, 'utf8').trim();
  if (key.length < MASTER_KEY_MIN_LENGTH) {
    throw new MasterKeyError(`${path} holds fewer than ${MASTER_KEY_MIN_LENGTH} characters; set TOKEND_MASTER_KEY or restore the file`);
  }
  return key;
}

/** Resolves the master key now; generates the file when neither the setting nor the file exists. */
export function resolveMasterKey(config: { masterKey: string; dataDir: string }): MasterKey {
  if (config.masterKey) return { key: config.masterKey, source: 'config', path: null };
  const path = join(config.dataDir, MASTER_KEY_FILE);
  try {
    return { key: readKeyFile(path), source: 'file', path };
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
  }
  mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  // Written whole to a temporary file, then linked into place: link() fails if the file exists, so
  // of two processes starting at once on one data dir one creates it and the other reads it, and
  // nobody ever reads a half-written key.
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, key + '\n', { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') return { key: readKeyFile(path), source: 'file', path };
    throw error;
  } finally {
    unlinkSync(tmp);
  }
  return { key, source: 'generated', path };
}

/**
 * Resolves on first call only (commands that never seal or open a key never create the file),
 * then remembers. `onResolved` hears the outcome once, for the loud warning.
 */
export function lazyMasterKey(config: { masterKey: string; dataDir: string }, onResolved?: (mk: MasterKey) => void): () => MasterKey {
  let resolved: MasterKey | null = null;
  return () => {
    if (!resolved) {
      resolved = resolveMasterKey(config);
      onResolved?.(resolved);
    }
    return resolved;
  };
}

/** The warning printed when tokend runs on a master key of its own making. */
export function masterKeyWarning(mk: MasterKey): string | null {
  if (mk.source === 'generated') {
    return (
      `TOKEND_MASTER_KEY is not set: generated a new master key into ${mk.path} (mode 0600). ` +
      'It encrypts the JWT signing keys: back it up, and give every node that shares this database the same key ' +
      '(set TOKEND_MASTER_KEY to its content), or tokens signed elsewhere cannot be issued here.'
    );
  }
  if (mk.source === 'file') {
    return `TOKEND_MASTER_KEY is not set: using the master key in ${mk.path}. Nodes that share this database must share it.`;
  }
  return null;
}
