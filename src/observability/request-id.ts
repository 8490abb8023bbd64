/**
 * Request ids: the caller's `X-Request-Id` when it is 1-128 safe characters (so an id a proxy or
 * client already logs follows the request through tokend), else a new random UUID. A malformed id
 * (too long, spaces, quotes, control or non-ASCII characters) is replaced, never echoed, so that a
 * client cannot write arbitrary text into tokend's responses and log lines.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

const SAFE_ID = /^[A-Za-z0-9._:/+=@~-]{1,128}$/;

/** The id of one request: the header's value when safe, else a fresh UUID. Fastify's `genReqId`. */
export function requestIdOf(req: Pick<IncomingMessage, 'headers'>): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
}
