/**
 * `GET /revocations/stream`: revocations as Server-Sent Events, for resource servers that verify
 * access JWTs locally (the SDK's verifier) and would otherwise accept a revoked session's token
 * until it expires (docs/revocations.md). Authenticated like introspection: the admin token or a
 * resource-server credential as `Authorization: Bearer`.
 *
 * Each event: `id: <seq>` (the audit chain's position, so `Last-Event-ID` resumes exactly after
 * it), `event: revoked`, `data: {"kind","id","at","accountId"}`. `?since=<unix ms>` starts with
 * what was revoked since then (a verifier catching up on tokens still alive); without it and
 * without `Last-Event-ID`, with what is revoked from now on. A `: live` comment says the catch-up
 * is over; one every 15 s keeps proxies from closing an idle stream.
 *
 * Only a request with `Accept: text/event-stream` gets a stream; any other gets one page of the
 * same as JSON (`{items, lastId}`) and an end, for clients that poll (and so that no request an
 * ordinary HTTP client makes stays open for ever).
 */
import { Type } from '@sinclair/typebox';
import type { Core } from '../../core/tokend.ts';
import { clientAddress, sendWire, type HttpApp } from '../dialect.ts';
import { headerValue } from '../lang.ts';
import { guardRefusal, nativeError } from './envelope.ts';
import { nativeErrorSchema } from './schemas.ts';

const HEARTBEAT_MS = 15_000;

const RevocationView = Type.Object({
  seq: Type.Integer({ description: 'Position in the audit chain: pass the last one as `Last-Event-ID` to resume.' }),
  kind: Type.Union([Type.Literal('session'), Type.Literal('key'), Type.Literal('account'), Type.Literal('api_token')]),
  id: Type.String({ description: 'session: `sid`; key: the Access Key (`client_id`); account: `sub`; api_token: its id.' }),
  at: Type.Integer({ description: 'Unix ms.' }),
  accountId: Type.Union([Type.Integer(), Type.Null()]),
});
const RevocationPage = Type.Object({
  items: Type.Array(RevocationView),
  lastId: Type.String({ description: 'Send it back as `Last-Event-ID` for what comes after.' }),
});
const PAGE = 500;

const StreamQuery = Type.Object(
  { since: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'Unix ms: start with the revocations made since then.' })) },
  { additionalProperties: false },
);

/** `draining`: true once the node is shutting down; open streams then end, and their clients reconnect elsewhere. */
export async function registerRevocationStream(app: HttpApp, core: Core, draining: () => boolean = () => false): Promise<void> {
  const open = new Set<AbortController>();
  app.addHook('onClose', async () => {
    for (const c of open) c.abort();
  });

  app.get(
    '/revocations/stream',
    {
      schema: {
        tags: ['native'],
        summary: 'Revoked sessions, keys, accounts and API tokens as Server-Sent Events (resume with Last-Event-ID)',
        querystring: StreamQuery,
        response: {
          200: { ...RevocationPage, description: 'With `Accept: text/event-stream`: a stream of `id: <seq>`, `event: revoked`, `data: {"kind","id","at","accountId"}`. Otherwise one page as JSON, for clients that poll.' },
          401: nativeErrorSchema(['unauthenticated'], 'No admin token or live resource-server credential.'),
          429: nativeErrorSchema(['too_many_attempts'], 'Too many wrong credentials from this address.'),
        },
      },
    },
    async (request, reply) => {
      // Wrong credentials count per address towards the one limit every credential-taking endpoint
      // shares (CredentialGuard); past it, even a right one gets 429 until the window ends.
      const authorization = headerValue(request.headers.authorization);
      const bearer = /^bearer\s+(\S{1,4096})$/i.exec(authorization?.trim() ?? '');
      const checked = await core.credentialGuard.check(clientAddress(request), () => (bearer ? core.callers.authenticate(bearer[1]!) : null), authorization !== undefined);
      if (!checked.ok) return sendWire(reply, guardRefusal(checked.retryAfterSeconds, nativeError('unauthenticated')));
      const lastId = headerValue(request.headers['last-event-id']);
      const afterSeq = lastId !== undefined && /^[0-9]{1,15}$/.test(lastId) ? Number(lastId) : undefined;
      const since = request.query.since !== undefined ? Number(request.query.since) : undefined;
      const from = { ...(afterSeq !== undefined ? { afterSeq } : {}), ...(since !== undefined ? { sinceAt: since } : {}) };

      // Only a client that asks for a stream gets one: anything else gets one page and an end.
      if (!/\btext\/event-stream\b/i.test(headerValue(request.headers.accept) ?? '')) {
        const page = await core.revocations.page(from, PAGE);
        return { items: page.items, lastId: String(page.lastSeq) };
      }

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        // nginx: pass events through as they come instead of buffering them.
        'x-accel-buffering': 'no',
      });
      const controller = new AbortController();
      open.add(controller);
      const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      // A node shutting down ends its streams at once: a stream never ends by itself, so the
      // shutdown would otherwise wait for it until TOKEND_SHUTDOWN_TIMEOUT.
      const drainCheck = setInterval(() => {
        if (draining()) controller.abort();
      }, 250);
      drainCheck.unref();
      const stop = (): void => {
        clearInterval(heartbeat);
        clearInterval(drainCheck);
        controller.abort();
        open.delete(controller);
      };
      res.once('close', stop);
      try {
        await core.revocations.follow(
          from,
          async (r) => {
            const ok = res.write(`id: ${r.seq}\nevent: revoked\ndata: ${JSON.stringify({ kind: r.kind, id: r.id, at: r.at, accountId: r.accountId })}\n\n`);
            if (!ok && !controller.signal.aborted) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
          },
          controller.signal,
          // A comment once caught up: a client knows it has heard everything up to now.
          () => res.write(': live\n\n'),
        );
      } catch (error) {
        request.log.warn({ err: error }, 'revocation stream ended by an error');
      } finally {
        stop();
        res.end();
      }
    },
  );
}
