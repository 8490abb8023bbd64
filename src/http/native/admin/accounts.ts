/**
 * Accounts in the admin API (docs/admin-api.md, "Routes"): list with filters and cursor paging,
 * create, read, rename or change the email, disable and enable, delete, set a password, and hand
 * out one-time password-reset links. Permissions `accounts:read` / `accounts:write`.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Core } from '../../../core/tokend.ts';
import { sendWire, type HttpApp } from '../../dialect.ts';
import { accountView } from '../cabinet/index.ts';
import { consoleContext } from '../console-auth.ts';
import { readResponses, writeResponses } from '../console-responses.ts';
import { AccountPage, AccountView, Nullable, ResetLinkView as ResetLink } from '../console-schemas.ts';
import { nativeError } from '../envelope.ts';
import { MAX_RECORD_ID, RECORD_ID_PATTERN } from '../ids.ts';
import { decodeCursor, DEFAULT_PAGE, MAX_PAGE, page, PageQueryProps, pageLimit } from '../paging.ts';
import { adminRoute } from './access.ts';
import { Duration, durationMs } from './duration.ts';
import { notFound, viewOrNotFound } from '../answers.ts';

const Strict = { additionalProperties: false } as const;
const NoBody = Type.Object({}, Strict);
const AccountParams = Type.Object({ id: Type.String({ pattern: RECORD_ID_PATTERN, description: 'The account\'s numeric id.' }) }, Strict);
const AccountsQuery = Type.Object(
  {
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 254, description: 'Exactly this email (compared normalised).' })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
    q: Type.Optional(Type.String({ maxLength: 254, description: 'Emails containing this text.' })),
    ...PageQueryProps,
    before: Type.Optional(Type.String({ pattern: RECORD_ID_PATTERN, description: 'The older paging: ids below this one. Prefer `cursor`.' })),
  },
  Strict,
);
const CreateAccountBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
  },
  Strict,
);
const UpdateAccountBody = Type.Object(
  {
    name: Type.Optional(Nullable(Type.String({ maxLength: 200, description: 'Empty or null removes the name.' }))),
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
  },
  { ...Strict, minProperties: 1 },
);
const PasswordBody = Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) }, Strict);
const ResetBody = Type.Object({ expiresIn: Type.Optional(Duration('How long the link works: 1 h by default, 7 d at most.')) }, Strict);

const Deleted = Type.Object({ deleted: Type.Literal(true) });
const PasswordSet = Type.Object({ passwordSet: Type.Literal(true) });

const RESET_DEFAULT_MS = 3_600_000;
const RESET_MAX_MS = 7 * 86_400_000;

function isIdCursor(key: unknown): key is number {
  return typeof key === 'number' && Number.isSafeInteger(key) && key >= 1 && key <= MAX_RECORD_ID;
}

export async function registerAdminAccounts(app: HttpApp, core: Core): Promise<void> {
  app.get(
    '/api/admin/accounts',
    adminRoute('accounts:read', {
      summary: 'Accounts, newest first: filter by exact email, status, or email text (q); cursor paging',
      querystring: AccountsQuery,
      response: readResponses(AccountPage),
    }),
    async (request) => {
      const q = request.query;
      const limit = q.limit === undefined && q.before !== undefined ? DEFAULT_PAGE : pageLimit(q);
      const fromCursor = decodeCursor(q.cursor, isIdCursor);
      const beforeId = fromCursor ?? (q.before !== undefined ? Number(q.before) : undefined);
      const rows = await core.accounts.list({
        limit: Math.min(limit, MAX_PAGE) + 1,
        ...(beforeId !== undefined ? { beforeId } : {}),
        ...(q.q?.trim() ? { emailContains: q.q.trim() } : {}),
        ...(q.email !== undefined ? { email: q.email } : {}),
        ...(q.status !== undefined ? { status: q.status } : {}),
      });
      const paged = page(rows, limit, accountView, (a) => a.id);
      return { ...paged, nextBefore: paged.nextCursor === null ? null : paged.items[paged.items.length - 1]!.id };
    },
  );

  app.post(
    '/api/admin/accounts',
    adminRoute('accounts:write', {
      summary: 'Create an account (email + password); a taken email is 400 naming `email`',
      body: CreateAccountBody,
      response: writeResponses(201, AccountView),
    }, { idempotent: true }),
    async (request, reply) => {
      const body = request.body;
      const created = await core.accounts.create({ email: body.email, password: body.password, name: body.name?.trim() || null }, consoleContext(request));
      return reply.code(201).send(accountView(created));
    },
  );

  app.get(
    '/api/admin/accounts/:id',
    adminRoute('accounts:read', { summary: 'One account', params: AccountParams, response: readResponses(AccountView, ['not_found']) }),
    async (request, reply) => viewOrNotFound(reply, await core.accounts.get(Number(request.params.id)), accountView),
  );

  app.patch(
    '/api/admin/accounts/:id',
    adminRoute('accounts:write', {
      summary: 'Rename an account or change its email (409 `email_taken` when another account has it)',
      params: AccountParams,
      body: UpdateAccountBody,
      response: writeResponses(200, AccountView, ['not_found', 'email_taken']),
    }),
    async (request, reply) => {
      const { name, email } = request.body;
      const updated = await core.accounts.update(
        Number(request.params.id),
        { ...(name !== undefined ? { name } : {}), ...(email !== undefined ? { email } : {}) },
        consoleContext(request),
      );
      if (updated === null) return notFound(reply);
      if (updated === 'email_taken') return sendWire(reply, nativeError('email_taken'));
      return accountView(updated);
    },
  );

  for (const [action, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
    app.post(
      `/api/admin/accounts/:id/${action}`,
      adminRoute('accounts:write', {
        summary: action === 'disable' ? 'Disable an account: its logins, refreshes and checks fail at once' : 'Re-enable a disabled account',
        params: AccountParams,
        body: NoBody,
        response: writeResponses(200, AccountView, ['not_found']),
      }),
      async (request, reply) => viewOrNotFound(reply, await core.accounts.setStatus(Number(request.params.id), status, consoleContext(request)), accountView),
    );
  }

  app.delete(
    '/api/admin/accounts/:id',
    adminRoute('accounts:write', {
      summary: 'Delete an account and everything it owns; its tokens stop working at once on every node; the audit log keeps its entries',
      params: AccountParams,
      response: writeResponses(200, Deleted, ['not_found']),
    }),
    async (request, reply) => {
      const deleted = await core.accounts.delete(Number(request.params.id), consoleContext(request));
      if (!deleted) return notFound(reply);
      return { deleted: true as const };
    },
  );

  app.put(
    '/api/admin/accounts/:id/password',
    adminRoute('accounts:write', {
      summary: 'Set the password; the account\'s console sign-ins and unused reset links end',
      params: AccountParams,
      body: PasswordBody,
      response: writeResponses(200, PasswordSet, ['not_found']),
    }),
    async (request, reply) => {
      const done = await core.accounts.setPassword(Number(request.params.id), request.body.password, consoleContext(request));
      if (!done) return notFound(reply);
      return { passwordSet: true as const };
    },
  );

  app.post(
    '/api/admin/accounts/:id/password-reset',
    adminRoute('accounts:write', {
      summary: 'A one-time password-reset link for the account holder (tokend sends no mail)',
      params: AccountParams,
      body: ResetBody,
      response: writeResponses(201, ResetLink, ['not_found']),
    }),
    async (request, reply) => {
      const ttl = request.body.expiresIn === undefined ? RESET_DEFAULT_MS : durationMs(request.body.expiresIn);
      if (ttl > RESET_MAX_MS) {
        return sendWire(reply, nativeError('validation_failed', { fields: [{ name: 'expiresIn', code: 'maximum', message: 'must be at most 7d' }] }));
      }
      const issued = await core.accounts.issuePasswordReset(Number(request.params.id), ttl, consoleContext(request));
      if (!issued) return notFound(reply);
      const link: Static<typeof ResetLink> = { url: `${request.protocol}://${request.host}/console/reset-password#token=${issued.token}`, expiresAt: issued.expiresAt };
      return reply.code(201).send(link);
    },
  );
}
