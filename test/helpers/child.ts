/**
 * A real `tokend serve` in a child process (bin/tokend.js, as an operator runs it), for tests that
 * kill it: the crash loop and anything else that needs a process boundary. Everything the process
 * writes to stdout and stderr is kept, across restarts, for the secret-hygiene checks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/tokend.js', import.meta.url));

/**
 * What a child process of a test may inherit beside its own settings: the compile cache of the run
 * (`npm test` sets NODE_COMPILE_CACHE; scripts/test.mjs), so that each start does not strip and
 * compile every module again. Nothing that changes what the process does.
 */
export const RUNTIME_ENV: Record<string, string> = process.env.NODE_COMPILE_CACHE ? { NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE } : {};

export interface ChildOptions {
  dataDir: string;
  /** '' for SQLite in dataDir. */
  databaseUrl: string;
  /** TOKEND_* settings for the process. */
  env: Record<string, string>;
}

export class TokendChild {
  readonly #options: ChildOptions;
  #proc: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  /** Base URL while the process is up and listening; null while it is down. */
  url: string | null = null;
  /** Every line the process wrote, stdout and stderr, over every start. */
  readonly output: string[] = [];
  starts = 0;

  constructor(options: ChildOptions) {
    this.#options = options;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** Starts `tokend serve --port 0` and resolves with its URL once it listens. */
  async start(timeoutMs = 120_000): Promise<string> {
    if (this.#proc) throw new Error('already running');
    const args = [BIN, 'serve', '--port', '0', '--data-dir', this.#options.dataDir];
    if (this.#options.databaseUrl) args.push('--database-url', this.#options.databaseUrl);
    // Only what a process needs to run, plus its TOKEND_* settings: nothing of the test's own environment.
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...RUNTIME_ENV, ...this.#options.env };
    const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    this.starts++;
    this.#exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const listening = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tokend did not start within ${timeoutMs} ms:\n${this.output.slice(-20).join('\n')}`)), timeoutMs);
      let buffered = { out: '', err: '' };
      const onData = (stream: 'out' | 'err') => (chunk: Buffer) => {
        buffered[stream] += chunk.toString('utf8');
        const lines = buffered[stream].split('\n');
        buffered[stream] = lines.pop() ?? '';
        for (const line of lines) {
          this.output.push(line);
          const m = /tokend listening on (http:\/\/\S+)/.exec(line);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        }
      };
      proc.stdout!.on('data', onData('out'));
      proc.stderr!.on('data', onData('err'));
      proc.once('exit', (code, signal) => {
        for (const rest of [buffered.out, buffered.err]) if (rest) this.output.push(rest);
        buffered = { out: '', err: '' };
        clearTimeout(timer);
        reject(new Error(`tokend exited (${code ?? signal}) before listening:\n${this.output.slice(-20).join('\n')}`));
      });
    });
    try {
      this.url = await listening;
    } catch (error) {
      this.#proc = null;
      throw error;
    }
    return this.url;
  }

  /** Kills the process with the given signal and waits until it is gone. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    this.url = null;
    proc.kill(signal);
    await this.#exited;
    this.#proc = null;
  }
}
