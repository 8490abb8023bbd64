/**
 * What the admin routes for an account's records share: path parameters, durations with a unit,
 * the responses every admin route declares, and the account a path names.
 */
import { Type, type TSchema, type TString } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest, FastifySchema, RawServerDefault, RouteGenericInterface } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { DAY_MS } from '../../../core/clock.ts';
import { InvalidInputError } from '../../../core/errors.ts';
import type { Account } from '../../../core/model.ts';
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { notFound } from '../answers.ts';
import { readResponses, writeResponses } from '../console-responses.ts';
import type { NativeCode } from '../envelope.ts';
import { MAX_RECORD_ID } from '../ids.ts';
import type { AdminRouteOptions } from './access.ts';
import { RecordIdParams } from '../inputs.ts';

/** `/accounts/:id/…`: the account the records belong to. */
export const AccountParams = RecordIdParams;

/** Longest lifetime a new key or API token may be given here (ten years, as the CLI's --expires-in). */
export const MAX_LIFETIME_MS = 3650 * DAY_MS;

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS } as const;

/**
 * A duration always carries its unit (`90d`, `24h`, `15m`, `30s`): a bare `90` could mean seconds
 * or days, and a credential's lifetime is no place to guess. The schema refuses it (400).
 */
export function Duration(description: string): TString {
  return Type.String({ pattern: '^[0-9]{1,10}[smhd]$', description: `${description} A number and a unit: s, m, h or d (\`90d\`).`, examples: ['90d'] });
}

/** Milliseconds of a duration the `Duration` schema let through; InvalidInputError(field) beyond `max`. */
export function durationMs(text: string, field: string, max: number): number {
  const unit = text.at(-1) as keyof typeof UNIT_MS;
  const ms = Number(text.slice(0, -1)) * UNIT_MS[unit];
  if (ms > max) throw new InvalidInputError(field, `must be at most ${max / DAY_MS} days`);
  return ms;
}

/** A new credential's lifetime in milliseconds: more than nothing, at most MAX_LIFETIME_MS. */
export function lifetimeMs(text: string, field: string): number {
  const ms = durationMs(text, field, MAX_LIFETIME_MS);
  if (ms === 0) throw new InvalidInputError(field, 'must be longer than 0');
  return ms;
}

/**
 * Runs a core call whose input names a field differently from the request (core's `expiresAt`,
 * computed from the request's `expiresIn`): a refusal then names the field the caller sent.
 */
export async function namingField<T>(call: Promise<T>, coreField: string, requestField: string): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof InvalidInputError && error.field === coreField) throw new InvalidInputError(requestField, error.message);
    throw error;
  }
}

/** Codes every admin route may answer besides its own: a Bearer caller that guessed too often. */
const ADMIN_CODES: NativeCode[] = ['too_many_attempts'];

/** The responses of an admin GET. */
export function adminRead(ok: TSchema, extra: NativeCode[] = []): Record<number, TSchema> {
  return readResponses(ok, [...extra, ...ADMIN_CODES]);
}

/** The responses of an admin state change. */
export function adminWrite(status: 200 | 201, ok: TSchema, extra: NativeCode[] = []): Record<number, TSchema> {
  return writeResponses(status, ok, [...extra, ...ADMIN_CODES]);
}

/** The account a path names (`/accounts/:id/…`), or null: the caller answers 404. */
export async function accountNamed(core: Core, id: string): Promise<Account | null> {
  const n = Number(id);
  return Number.isSafeInteger(n) && n > 0 && n <= MAX_RECORD_ID ? core.accounts.get(n) : null;
}

/** The request of a route declared with `schema`, typed from it as the route's own handler sees it. */
export type RequestOf<S extends FastifySchema> = FastifyRequest<RouteGenericInterface, RawServerDefault, IncomingMessage, S, TypeBoxTypeProvider>;

/**
 * Registers an admin route on an account's records (`/api/admin/accounts/:id/…`): `handle` runs
 * with the account the path names. A path that names no account (never created, deleted, or no
 * record id at all) is answered 404 `not_found` before anything else is read.
 */
export function accountRoute<S extends FastifySchema & { params: typeof AccountParams }>(
  app: HttpApp,
  core: Core,
  method: 'GET' | 'POST',
  url: `/api/admin/accounts/:id/${string}`,
  options: AdminRouteOptions<S>,
  handle: (account: Account, request: RequestOf<S>, reply: FastifyReply) => Promise<unknown>,
): void {
  async function handler(request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<unknown> {
    const account = await accountNamed(core, request.params.id);
    if (!account) return notFound(reply);
    return handle(account, request as unknown as RequestOf<S>, reply);
  }
  // The schema types `handle`'s request; this handler reads only the path's id.
  app.route({ method, url, ...options, handler } as unknown as Parameters<HttpApp['route']>[0]);
}

// --- cursor keys: what each list's opaque cursor decodes to ------------------------------------

/** An id-ordered list's cursor: the last id sent. */
export function isRecordId(key: unknown): key is number {
  return typeof key === 'number' && Number.isSafeInteger(key) && key > 0 && key <= MAX_RECORD_ID;
}

/** A time-ordered list's cursor: `[time, id]` of the last item sent, the id a record id or a string id. */
export function isTimeAndId(key: unknown): key is [number, number] {
  return Array.isArray(key) && key.length === 2 && Number.isSafeInteger(key[0]) && key[0] >= 0 && isRecordId(key[1]);
}

export function isTimeAndStringId(key: unknown): key is [number, string] {
  return Array.isArray(key) && key.length === 2 && Number.isSafeInteger(key[0]) && key[0] >= 0 && typeof key[1] === 'string' && /^[0-9a-fA-F-]{1,64}$/.test(key[1]);
}
