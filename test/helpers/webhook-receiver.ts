/**
 * A real HTTP server on 127.0.0.1 that receives webhooks for the tests, and an implementation of
 * the Standard Webhooks signature of its own (node:crypto, from the scheme's text), independent of
 * the library tokend signs with.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What the receiver answers to the n-th request (0-based) at `path`; null: no answer at all (it hangs). */
export type Responder = (n: number, req: Received) => { status: number; headers?: Record<string, string> } | null;

export class WebhookReceiver {
  readonly received: Received[] = [];
  #server: Server;
  #responder: Responder = () => ({ status: 204 });
  #counts = new Map<string, number>();
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r: Received = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        this.received.push(r);
        const n = this.#counts.get(r.path) ?? 0;
        this.#counts.set(r.path, n + 1);
        const answer = this.#responder(n, r);
        if (answer === null) return;
        res.writeHead(answer.status, answer.headers ?? {});
        res.end();
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as { port: number }).port}`;
    return this.url;
  }

  respond(fn: Responder): void {
    this.#responder = fn;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async waitFor(path: string, count: number, ms = 15_000): Promise<Received[]> {
    const deadline = Date.now() + ms;
    while (this.at(path).length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} requests at ${path}, got ${this.at(path).length}`);
      await sleep(20);
    }
    return this.at(path);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/**
 * Standard Webhooks, as its specification words it: the secret is base64 after `whsec_`; the
 * signed content is `<webhook-id>.<webhook-timestamp>.<body>`; the header holds space-separated
 * `v1,<base64 HMAC-SHA256>` signatures.
 */
export function verifyStandardWebhook(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sig = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof ts !== 'string' || typeof sig !== 'string') return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest();
  return sig.split(' ').some((s) => {
    const [version, value] = s.split(',');
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
