/**
 * A token store in a JSON file, for Node only (a separate module so browser bundles never import
 * node:fs). Writes are atomic: a temp file in the same directory, fsynced, then renamed over the
 * old one, so a crash leaves either the old pair or the new one, never half a file. The file is
 * created with mode 0600: it holds a refresh token.
 *
 * @example
 * ```ts
 * import { FileTokenStore } from '@tokend/client/file-store';
 * const store = new FileTokenStore<ChatAppTokens>('./.tokens/chatapp.json');
 * ```
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import type { TokenStore } from './store.ts';

export class FileTokenStore<T> implements TokenStore<T> {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async load(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      // A corrupt file (edited by hand, disk trouble) means no usable tokens: log in again.
      return null;
    }
  }

  async save(tokens: T): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = join(dir, `.${basename(this.path)}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(JSON.stringify(tokens), 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, this.path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    // The rename itself must survive a crash too.
    await syncDirectory(dir);
  }

  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot fsync a directory; the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}
