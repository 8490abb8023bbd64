/**
 * The check lane: the token checks that read nothing but the request's headers (the Invoicebox
 * auth check, the ChatApp check, hoster.by's access-token info, forward-auth) are answered from
 * Node's `request` event, before Fastify sees the request.
 *
 * A check is tokend's hot path, and a sixth of what a cached check cost was Fastify's per-request
 * machinery: routing, the request and reply objects, the four hook runs, the reply's send pipeline
 * (about 18 µs of 100, bench/RESULTS.md). Such a route needs none of it: no body, no query
 * string, no path parameters, nothing to validate. So each of them is declared once, as a
 * responder (headers and client address in, a WireReply out), and served twice:
 *
 * - as a Fastify route, which documents it (OpenAPI), serves `inject()`, and answers every request
 *   the lane leaves to it;
 * - by the lane, which takes `GET <path>` with exactly that path (no query string, no trailing
 *   slash) and no body, while the node is not draining, and writes what Fastify writes for the same answer:
 *   the same status, the same headers (Content-Type, Content-Length, Cache-Control: no-store,
 *   X-Request-Id, the answer's own), the same body bytes (both paths send the body the responder
 *   rendered, `bodyText`), the same request metric and the same access-log line.
 *
 * test/check-lane.test.ts holds the two paths to that, answer by answer. With tracing configured
 * the lane is off: every request then has its span from Fastify's hooks.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyReply, FastifySchema } from 'fastify';
import type { Level } from 'pino';
import { writeAccessLine, writesLevel } from './access-log.ts';
import { clientAddress, sendWire, type HttpApp, type WireReply } from './dialect.ts';
import { classifyError, type GenericFailure } from './failures.ts';
import { pickLang, type Lang } from './lang.ts';

/** What a header-only check reads of its request. */
export interface HeaderRequest {
  readonly headers: IncomingHttpHeaders;
  /** The client address (src/http/dialect.ts, clientAddress): what limits and allow-lists see. */
  readonly address: string;
}

/** A check answered from the headers alone: the answer itself, or a promise when a step waited (storage). */
export type HeaderResponder = (request: HeaderRequest) => WireReply | Promise<WireReply>;

/** The body both paths send: a string as it is, an object as JSON, none as none. */
function bodyText(body: unknown): string | undefined {
  return body === undefined || typeof body === 'string' ? body : JSON.stringify(body);
}

/** The answer with its body as the bytes both paths send. */
function renderedBody(wire: WireReply): WireReply {
  const body = bodyText(wire.body);
  return body === wire.body ? wire : { status: wire.status, body, ...(wire.headers ? { headers: wire.headers } : {}) };
}

function sendRendered(reply: FastifyReply, wire: WireReply): FastifyReply {
  return sendWire(reply, renderedBody(wire));
}

/** What the lane needs of the app it runs beside. */
export interface LaneDeps {
  /** The app's logger (its serializers): the access-log line and errors are written through it. */
  log: FastifyBaseLogger;
  /** The request id, as Fastify's `genReqId` makes it. */
  requestId(raw: IncomingMessage): string;
  /** The client address, as `request.ip` and clientAddress give it on the Fastify path. */
  address(raw: IncomingMessage): string;
  /** The request metric, as the onResponse hook records it. */
  observe?: ((route: string, method: string, status: number, seconds: number) => void) | null;
  /** The surface's envelope of a failure (the error handler's answer). */
  failureReply(url: string, failure: GenericFailure, lang: Lang): WireReply;
  /** True while the node drains: every answer then closes its connection, which Fastify's hook does. */
  draining(): boolean;
}

interface LaneRoute {
  readonly path: string;
  readonly respond: HeaderResponder;
}

/** The access line's view of a request the lane answered (the `req` serializer reads it as it reads a Fastify request). */
export interface LaneLoggedRequest {
  readonly method: string;
  readonly url: string;
  readonly address: string;
}

export class CheckLane {
  readonly #deps: LaneDeps;
  readonly #routes = new Map<string, LaneRoute>();

  constructor(deps: LaneDeps) {
    this.#deps = deps;
  }

  /**
   * Declares `GET path`, answered by `respond`: a Fastify route on `app` (with `schema`, for the
   * OpenAPI document) and, once the lane is installed, the lane's.
   */
  route(app: HttpApp, path: string, schema: FastifySchema, respond: HeaderResponder): void {
    app.get(path, { schema }, (request, reply): Promise<FastifyReply> | undefined => {
      const wire = respond({ headers: request.headers, address: clientAddress(request) });
      if (wire instanceof Promise) return wire.then((w) => sendRendered(reply, w));
      sendRendered(reply, wire);
      return undefined;
    });
    this.#routes.set(path, { path, respond });
  }

  /**
   * Puts the lane in front of the server's request handler (Fastify's): a request it takes never
   * reaches Fastify, any other goes on to it unchanged.
   */
  install(server: Server): void {
    if (this.#routes.size === 0) return;
    const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    if (handlers.length !== 1) throw new Error(`the check lane expects one request handler on the server, found ${handlers.length}`);
    const next = handlers[0]!;
    server.removeListener('request', next);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!this.#take(req, res)) next(req, res);
    });
  }

  /** Answers the request if it is one of the lane's; false leaves it to Fastify. */
  #take(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET') return false;
    const route = this.#routes.get(req.url!);
    if (route === undefined || this.#deps.draining()) return false;
    // A GET that sends a body (unusual for a check) goes to Fastify, whose hooks follow a request
    // while its body arrives: a body cut short or malformed is refused in the route's envelope.
    const { headers } = req;
    if (headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0')) return false;
    const started = performance.now();
    const id = this.#deps.requestId(req);
    let address = '';
    let wire: WireReply | Promise<WireReply>;
    try {
      address = this.#deps.address(req);
      wire = route.respond({ headers: req.headers, address });
    } catch (error) {
      wire = this.#failed(route, req, id, error);
    }
    if (wire instanceof Promise) {
      wire.then(
        (w) => this.#answer(route, req, res, id, address, started, w),
        (error: unknown) => this.#answer(route, req, res, id, address, started, this.#failed(route, req, id, error)),
      );
    } else {
      this.#answer(route, req, res, id, address, started, wire);
    }
    return true;
  }

  /**
   * Sends the answer; never throws (it runs in the server's request event, or after a promise).
   * An answer Node refuses to write (a header value it rejects: a bug) gets the error handler's
   * answer instead, as Fastify gives it, or a closed connection if headers were already sent.
   */
  #answer(route: LaneRoute, req: IncomingMessage, res: ServerResponse, id: string, address: string, started: number, wire: WireReply): void {
    try {
      this.#send(route, res, id, address, started, wire);
      return;
    } catch (error) {
      try {
        if (!res.headersSent) {
          this.#send(route, res, id, address, started, this.#failed(route, req, id, error));
          return;
        }
      } catch {
        // Fall through: nothing more can be said on this connection.
      }
    }
    res.destroy();
  }

  /** The error handler's answer (src/http/app.ts), and its log line for a bug. */
  #failed(route: LaneRoute, req: IncomingMessage, id: string, error: unknown): WireReply {
    const failure = classifyError(error as Error);
    if (failure.kind === 'internal') this.#deps.log.child({ reqId: id }).error({ err: error }, 'unhandled error');
    return this.#deps.failureReply(route.path, failure, pickLang(req.headers));
  }

  #send(route: LaneRoute, res: ServerResponse, id: string, address: string, started: number, wire: WireReply): void {
    const body = bodyText(wire.body);
    const headers: OutgoingHttpHeaders = {};
    if (wire.headers) for (const k in wire.headers) headers[k] = wire.headers[k];
    if (body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    headers['cache-control'] = 'no-store';
    headers['x-request-id'] = id;
    headers['content-length'] = body === undefined ? 0 : Buffer.byteLength(body);
    if (!res.destroyed) {
      res.writeHead(wire.status, headers);
      res.end(body);
    }
    const ms = performance.now() - started;
    this.#deps.observe?.(route.path, 'GET', wire.status, ms / 1000);
    const status = wire.status;
    const level: Level = status >= 500 ? 'warn' : status >= 400 ? 'info' : 'debug';
    // The line is made only when its level is written (a valid check at info writes none).
    if (writesLevel(this.#deps.log, level)) {
      const logged: LaneLoggedRequest = { method: 'GET', url: route.path, address };
      writeAccessLine(this.#deps.log, level, id, logged, status, ms);
    }
  }
}
