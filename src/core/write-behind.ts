/**
 * The timing of a write-behind buffer: what a hot path notes in memory (counts, `last used` times,
 * credit spends) and writes in batches off the request path. The timer is started by the first
 * note, so CLI commands, which note nothing, never hold one; two writes never run at once; close
 * stops the timer and writes what is left.
 */
export class FlushSchedule {
  readonly #everyMs: number;
  readonly #flush: () => Promise<void>;
  #running: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #started = 0;

  /** `flush`: the owner's own flush, which calls `run`. */
  constructor(everyMs: number, flush: () => Promise<void>) {
    this.#everyMs = everyMs;
    this.#flush = flush;
  }

  /** Starts the timer unless it runs. */
  arm(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#flush().catch(() => {}), this.#everyMs);
    this.#timer.unref();
  }

  /** True while a write runs. */
  get busy(): boolean {
    return this.#running !== null;
  }

  /** Writes started so far: a read that overlapped one can tell. */
  get started(): number {
    return this.#started;
  }

  /** Resolves once no write runs. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running.catch(() => {});
  }

  /**
   * Once no other write runs, `take` picks what to write, synchronously (nothing noted meanwhile
   * is lost or taken twice), and returns the write, or null when there is nothing to write.
   */
  async run(take: () => (() => Promise<void>) | null): Promise<void> {
    // Not `await this.idle()`: with no write running, `take` runs now, in the caller's turn, so a
    // flush writes what was noted before it was called (an await would let later notes in).
    // Another's failed write is its own caller's to report.
    while (this.#running) await this.#running.catch(() => {});
    const write = take();
    if (!write) return;
    this.#started++;
    const running = write();
    this.#running = running;
    try {
      await running;
    } finally {
      this.#running = null;
    }
  }

  /** Stops the timer and writes what is pending (shutdown). */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#flush();
  }
}
