/**
 * Sends webhook deliveries (WebhookTransport, src/core/events/ports.ts): one signed POST each.
 *
 * - Signed by `standardwebhooks`, the Standard Webhooks reference implementation (HMAC-SHA256 over
 *   `<webhook-id>.<webhook-timestamp>.<body>`, `v1,<base64>`): the receiver's own library verifies
 *   exactly what it makes, with nothing of tokend's making in between.
 * - node:http(s), which follows no redirect: a 3xx is the receiver's answer, recorded as a failure.
 * - The host's addresses are resolved here, each one checked (AddressGuard), and the socket
 *   connects to a checked address: the lookup the connection uses is the check itself.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { TokendError } from '../../core/errors.ts';
import type { AddressGuard } from '../../core/events/address-guard.ts';
import type { DeliveryRequest, DeliveryResult, WebhookTransport } from '../../core/events/ports.ts';
import { VERSION } from '../../version.ts';

/** How much of a receiver's answer is read (and dropped): enough to end the exchange cleanly. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** The three Standard Webhooks headers of one delivery. */
export function signedHeaders(secret: string, messageId: string, timestamp: number, body: string): Record<string, string> {
  const at = new Date(timestamp);
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(messageId, at, body),
  };
}

/** A webhook host that resolves to an address the guard refuses (passed to the socket as DNS's answer). */
class BlockedAddress extends TokendError {
  override readonly code = 'EBLOCKED';
}

function guardedLookup(guard: AddressGuard): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      for (const a of addresses) {
        const refusal = guard.refusal(a.address);
        if (refusal) return callback(new BlockedAddress(`the host resolves to ${a.address}, which ${refusal}`), '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

export function httpWebhookTransport(guard: AddressGuard): WebhookTransport {
  const lookup = guardedLookup(guard);
  return {
    async send(req: DeliveryRequest): Promise<DeliveryResult> {
      const started = performance.now();
      const elapsed = (): number => Math.round(performance.now() - started);
      const problem = guard.urlProblem(req.url);
      if (problem) return { ok: false, error: `the URL ${problem}`, latencyMs: 0 };
      const url = new URL(req.url);
      const client = url.protocol === 'https:' ? https : http;
      const headers = {
        'content-type': 'application/json',
        'user-agent': `tokend-webhooks/${VERSION}`,
        ...signedHeaders(req.secret, req.messageId, req.timestamp, req.body),
      };
      return new Promise<DeliveryResult>((resolve) => {
        let settled = false;
        const done = (result: DeliveryResult): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(result);
        };
        const request = client.request(url, { method: 'POST', headers, lookup, agent: false }, (response) => {
          let read = 0;
          response.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > MAX_RESPONSE_BYTES) response.destroy();
          });
          const status = response.statusCode ?? 0;
          const answer = (): void => {
            if (status >= 200 && status < 300) done({ ok: true, status, latencyMs: elapsed() });
            else if (status >= 300 && status < 400) done({ ok: false, status, error: `answered ${status}: redirects are not followed`, latencyMs: elapsed() });
            else done({ ok: false, status, error: `answered ${status}`, latencyMs: elapsed() });
          };
          response.on('end', answer);
          response.on('close', answer);
          response.on('error', answer);
        });
        // The whole exchange, connection to last byte, within the timeout.
        const timer = setTimeout(() => {
          request.destroy();
          done({ ok: false, error: `no answer within ${req.timeoutMs} ms`, latencyMs: elapsed() });
        }, req.timeoutMs);
        request.on('error', (error: NodeJS.ErrnoException) => {
          const reason = error instanceof BlockedAddress ? error.message : `${error.code ?? 'error'}: ${error.message}`;
          done({ ok: false, error: reason, latencyMs: elapsed() });
        });
        request.end(req.body);
      });
    },
  };
}
