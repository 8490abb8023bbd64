/**
 * What a wire dialect is: a folder under src/http/dialects with its routes, its error codes and
 * its envelope. Adding a dialect means adding a folder and one line in src/http/dialects/index.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import type { Core } from '../core/tokend.ts';
import type { CheckLane } from './check-lane.ts';
import type { GenericFailure } from './failures.ts';
import type { Lang } from './lang.ts';

/**
 * The app and every plugin scope that declares routes: handlers get their body, query, params and
 * headers typed from the route's TypeBox schemas (the schema is the one copy of the input's type).
 */
export type HttpApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface WireReply {
  status: number;
  /** An object is sent as JSON; a string is sent as is, with `application/json`. */
  body: unknown;
  headers?: Record<string, string>;
}

/** One entry of a dialect's public error-code list (docs/errors.md is checked against these). */
export interface ErrorCodeSpec {
  status: number;
  en: string;
  ru: string;
  /** When a client sees it (docs/errors.md says it for each dialect, framework failures included). */
  when: string;
}

export interface DialectContext {
  core: Core;
  /** Where a check answered from its headers alone is declared (src/http/check-lane.ts). */
  lane: CheckLane;
}

export interface WireDialect {
  readonly name: string;
  /** Path prefixes this dialect owns: its envelope is used for 404s and early errors there. */
  readonly prefixes: readonly string[];
  /** Public error codes of the dialect. */
  readonly codes: Readonly<Record<string, ErrorCodeSpec>>;
  renderFailure(failure: GenericFailure, lang: Lang, retryAfterSeconds?: number): WireReply;
  register(app: HttpApp, ctx: DialectContext): Promise<void>;
}

export function sendWire(reply: FastifyReply, wire: WireReply): FastifyReply {
  reply.code(wire.status);
  const headers = wire.headers;
  if (headers) for (const k in headers) reply.header(k, headers[k]!);
  if (typeof wire.body === 'string') reply.type('application/json; charset=utf-8');
  return reply.send(wire.body);
}

/**
 * The client address the limits, the audit log and the access log see: the right-most
 * `X-Forwarded-For` entry that is not a trusted proxy (`TOKEND_TRUSTED_PROXIES`; Fastify's
 * `request.ip` walks the hops with @fastify/proxy-addr), or the peer's address when no proxy is
 * trusted. An entry that is not an IP address (a malformed header, even from a trusted proxy)
 * names nobody: the peer's address is used instead.
 */
export function clientAddress(request: FastifyRequest): string {
  return clientAddressOf(request.ip, request.raw.socket?.remoteAddress);
}

/**
 * The same for a request Fastify never saw (src/http/check-lane.ts): `trust` is the compiled
 * TOKEND_TRUSTED_PROXIES that Fastify's `request.ip` walks the hops with, or null when no proxy is
 * trusted (then `request.ip` is the peer's address).
 */
export function rawClientAddress(raw: IncomingMessage, trust: ((address: string, hop: number) => boolean) | null): string {
  const peer = raw.socket?.remoteAddress;
  return clientAddressOf(trust ? proxyAddr(raw, trust) : peer!, peer);
}

function clientAddressOf(ip: string, peer: string | undefined): string {
  if (ip === peer || isIP(ip) !== 0) return ip;
  return peer ?? ip;
}
