/**
 * The webhook dispatcher `tokend serve` runs: it claims due deliveries from the outbox, sends each
 * (WebhookTransport) and records the attempt. At least once: a delivery leaves the outbox only
 * when a receiver answered 2xx, or when its retry period is over; a node that dies mid-delivery
 * leaves a lease that runs out, and the next claim (on any node) makes the next attempt. Two
 * dispatchers never make the same attempt: the claim, one statement, leases a row to one of them
 * (src/store/webhooks.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Store } from '../ports.ts';
import type { ClaimedDelivery, DeliveryNext, DeliveryResult, SecretBox, WebhookTransport } from './ports.ts';

export interface Backoff {
  /** Delay after the first failed attempt; each further failure doubles it. */
  initialMs: number;
  /** The longest delay between two attempts. */
  maxMs: number;
  /** Attempts go on for this long after the event (at least); then the delivery fails. */
  periodMs: number;
}

/**
 * When to try again after failed attempt `attempt` (1-based), or null to give up: exponential
 * (initial × 2^(attempt-1), at most max) with jitter (between half and all of it), so that
 * deliveries that failed together (a receiver that was down) do not come back together. The last
 * attempt is made when the period ends, so retries last the whole period.
 */
export function nextAttemptAt(attempt: number, createdAt: number, now: number, backoff: Backoff, random: () => number = Math.random): number | null {
  const end = createdAt + backoff.periodMs;
  if (now >= end) return null;
  const base = Math.min(backoff.initialMs * 2 ** Math.min(attempt - 1, 40), backoff.maxMs);
  const delay = Math.max(1, Math.round(base * (0.5 + random() * 0.5)));
  return Math.min(now + delay, end);
}

export interface DispatcherDeps {
  store: Store;
  clock: Clock;
  transport: WebhookTransport;
  secrets: SecretBox;
  timeoutMs: number;
  backoff: Backoff;
  /** How often to look for due deliveries when the last look found none. */
  pollMs: number;
  /** Most deliveries claimed (and sent concurrently) at once. */
  batch?: number;
  log?: { warn(obj: object, msg: string): void };
  /** Told the outcome of every attempt (metrics). */
  onAttempt?: (outcome: 'delivered' | 'retry' | 'failed') => void;
}

export class WebhookDispatcher {
  readonly #d: DispatcherDeps;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = true;

  constructor(deps: DispatcherDeps) {
    this.#d = deps;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops claiming and waits for the deliveries in flight to be recorded. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce().then(
        (n) => this.#schedule(n > 0 ? 0 : this.#d.pollMs),
        (err: unknown) => {
          this.#d.log?.warn({ err }, 'webhook dispatch failed; trying again');
          this.#schedule(this.#d.pollMs);
        },
      );
    }, ms);
    this.#timer.unref();
  }

  /** Claims one batch of due deliveries and sends them; returns how many were claimed. */
  async runOnce(): Promise<number> {
    const { store, clock, timeoutMs } = this.#d;
    const now = clock.now();
    const claim = randomBytes(12).toString('base64url');
    // The lease outlasts the send's timeout with room to record the outcome, so a live dispatcher
    // keeps it; a dead one's runs out soon after, and the delivery's next attempt goes to any node.
    const leaseUntil = now + timeoutMs * 2 + 5000;
    const claimed = await store.webhooks.claimDue(now, leaseUntil, this.#d.batch ?? 16, claim);
    // Settled, not all: one failure (the database gone while recording) must not leave the others' rejections unheard.
    const results = await Promise.allSettled(claimed.map((c) => this.#deliver(c)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return claimed.length;
  }

  async #deliver(c: ClaimedDelivery): Promise<void> {
    const { store, clock, transport, secrets, timeoutMs, backoff } = this.#d;
    const at = clock.now();
    const secret = secrets.open(c.secretSealed, c.endpointId);
    const result: DeliveryResult = secret
      ? await transport.send({ url: c.url, secret, messageId: c.messageId, timestamp: at, body: c.payload, timeoutMs })
      : { ok: false, error: 'the signing secret does not open with this master key', latencyMs: 0 };
    const done = clock.now();
    let next: DeliveryNext;
    if (result.ok) next = { status: 'delivered', at: done };
    else {
      const retryAt = nextAttemptAt(c.attempt, c.createdAt, done, backoff);
      next = retryAt === null ? { status: 'failed' } : { status: 'pending', nextAttemptAt: retryAt };
    }
    const attempt = {
      deliveryId: c.id,
      endpointId: c.endpointId,
      messageId: c.messageId,
      attempt: c.attempt,
      at,
      statusCode: result.ok ? result.status : (result.status ?? null),
      latencyMs: result.latencyMs,
      error: result.ok ? null : result.error.slice(0, 500),
    };
    await store.transaction((tx) => tx.webhooks.finish({ id: c.id, claim: c.claim }, attempt, next));
    this.#d.onAttempt?.(next.status === 'pending' ? 'retry' : next.status);
  }
}
