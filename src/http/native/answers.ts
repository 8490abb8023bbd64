/**
 * What the admin and cabinet routes answer alike about one record: the record's view or 404, and
 * the outcome of a revocation. In the native envelope (envelope.ts).
 */
import type { FastifyReply } from 'fastify';
import { sendWire } from '../dialect.ts';
import { nativeError } from './envelope.ts';

/** 404 `not_found`: the record a path names does not exist, or is not the caller's. */
export function notFound(reply: FastifyReply): FastifyReply {
  return sendWire(reply, nativeError('not_found'));
}

/**
 * The answer about one record: its `view`, or 404 `not_found` when there is none (null: it never
 * existed, was deleted, or is not the caller's).
 */
export async function viewOrNotFound<R, V>(reply: FastifyReply, record: R | null, view: (record: R) => V | Promise<V>): Promise<V | FastifyReply> {
  return record ? view(record) : notFound(reply);
}

/**
 * The answer to a revocation: `{ revoked: true }` when it revoked the credential; otherwise
 * `refusal`, `not_found` (nothing of that id, or not the caller's) or `not_active` (revoked,
 * replaced or expired before).
 */
export function revokedOr(reply: FastifyReply, revoked: boolean, refusal: 'not_found' | 'not_active'): { revoked: true } | FastifyReply {
  return revoked ? { revoked: true } : sendWire(reply, nativeError(refusal));
}
