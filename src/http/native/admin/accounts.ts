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
import { AccountPage, AccountView, Nullable } from '../console-schemas.ts';
import { nativeError } from '../envelope.ts';
import { MAX_RECORD_ID, RECORD_ID_PATTERN } from '../ids.ts';
import { decodeCursor, DEFAULT_PAGE, MAX_PAGE, page, PageQueryProps, pageLimit } from '../paging.ts';
import type {} from './access.ts';
import { Duration, durationMs } from './duration.ts';

const Strict = { additionalProperties: false } as const;
const NoBody = Type.Object({}, Strict);
const AccountParams = Type.Object({ id: Type.String({ pattern: RECORD_ID_PATTERN, description: 'The account\'s numeric id.' }) }, Strict);
const AccountsQuery = Type.Object(
  {
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 254, description: 'Exactly this email (compared normalised).' })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
    q: Type.Optional(Type.String({ maxLength: 254, description: 'Emails containing this text.' })),
    ...PageQueryProps,
    before: Type.Optional(Type.String({ pattern: RECORD_ID_PATTERN, description: 'The console\'s older paging: ids below this one. Prefer `cursor`.' })),
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
const ResetLink = Type.Object({
  url: Type.String({ description: 'Hand it to the account holder: the one-time token is in the fragment (`#token=…`), which browsers never send to a server.' }),
  expiresAt: Type.Integer({ description: 'Unix ms.' }),
});

const RESET_DEFAULT_MS = 3_600_000;
const RESET_MAX_MS = 7 * 86_400_000;

function isIdCursor(key: unknown): key is number {
  return typeof key === 'number' && Number.isSafeInteger(key) && key >= 1 && key <= MAX_RECORD_ID;
}

export async function registerAdminAccounts(app: HttpApp, core: Core): Promise<void> {
  app.get(
    '/api/admin/accounts',
    {
      config: { permission: 'accounts:read' },
      schema: {
        tags: ['admin'],
        summary: 'Accounts, newest first: filter by exact email, status, or email text (q); cursor paging',
        querystring: AccountsQuery,
        response: readResponses(AccountPage),
      },
    },
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
    {
      config: { permission: 'accounts:write', idempotent: true },
      schema: {
        tags: ['admin'],
        summary: 'Create an account (email + password); a taken email is 400 naming `email`',
        body: CreateAccountBody,
        response: writeResponses(201, AccountView),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const created = await core.accounts.create({ email: body.email, password: body.password, name: body.name?.trim() || null }, consoleContext(request));
      return reply.code(201).send(accountView(created));
    },
  );

  app.get(
    '/api/admin/accounts/:id',
    {
      config: { permission: 'accounts:read' },
      schema: { tags: ['admin'], summary: 'One account', params: AccountParams, response: readResponses(AccountView, ['not_found']) },
    },
    async (request, reply) => {
      const account = await core.accounts.get(Number(request.params.id));
      if (!account) return sendWire(reply, nativeError('not_found'));
      return accountView(account);
    },
  );

  app.patch(
    '/api/admin/accounts/:id',
    {
      config: { permission: 'accounts:write' },
      schema: {
        tags: ['admin'],
        summary: 'Rename an account or change its email (409 `email_taken` when another account has it)',
        params: AccountParams,
        body: UpdateAccountBody,
        response: writeResponses(200, AccountView, ['not_found', 'email_taken']),
      },
    },
    async (request, reply) => {
      const { name, email } = request.body;
      const updated = await core.accounts.update(
        Number(request.params.id),
        { ...(name !== undefined ? { name } : {}), ...(email !== undefined ? { email } : {}) },
        consoleContext(request),
      );
      if (updated === null) return sendWire(reply, nativeError('not_found'));
      if (updated === 'email_taken') return sendWire(reply, nativeError('email_taken'));
      return accountView(updated);
    },
  );

  for (const [action, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
    app.post(
      `/api/admin/accounts/:id/${action}`,
      {
        config: { permission: 'accounts:write' },
        schema: {
          tags: ['admin'],
          summary: action === 'disable' ? 'Disable an account: its logins, refreshes and checks fail at once' : 'Re-enable a disabled account',
          params: AccountParams,
          body: NoBody,
          response: writeResponses(200, AccountView, ['not_found']),
        },
      },
      async (request, reply) => {
        const account = await core.accounts.setStatus(Number(request.params.id), status, consoleContext(request));
        if (!account) return sendWire(reply, nativeError('not_found'));
        return accountView(account);
      },
    );
  }

  app.delete(
    '/api/admin/accounts/:id',
    {
      config: { permission: 'accounts:write' },
      schema: {
        tags: ['admin'],
        summary: 'Delete an account and everything it owns; its tokens stop working at once on every node; the audit log keeps its entries',
        params: AccountParams,
        response: writeResponses(200, Deleted, ['not_found']),
      },
    },
    async (request, reply) => {
      const deleted = await core.accounts.delete(Number(request.params.id), consoleContext(request));
      if (!deleted) return sendWire(reply, nativeError('not_found'));
      return { deleted: true as const };
    },
  );

  app.put(
    '/api/admin/accounts/:id/password',
    {
      config: { permission: 'accounts:write' },
      schema: {
        tags: ['admin'],
        summary: 'Set the password; the account\'s console sign-ins and unused reset links end',
        params: AccountParams,
        body: PasswordBody,
        response: writeResponses(200, PasswordSet, ['not_found']),
      },
    },
    async (request, reply) => {
      const done = await core.accounts.setPassword(Number(request.params.id), request.body.password, consoleContext(request));
      if (!done) return sendWire(reply, nativeError('not_found'));
      return { passwordSet: true as const };
    },
  );

  app.post(
    '/api/admin/accounts/:id/password-reset',
    {
      config: { permission: 'accounts:write' },
      schema: {
        tags: ['admin'],
        summary: 'A one-time password-reset link for the account holder (tokend sends no mail)',
        params: AccountParams,
        body: ResetBody,
        response: writeResponses(201, ResetLink, ['not_found']),
      },
    },
    async (request, reply) => {
      const ttl = request.body.expiresIn === undefined ? RESET_DEFAULT_MS : durationMs(request.body.expiresIn);
      if (ttl > RESET_MAX_MS) {
        return sendWire(reply, nativeError('validation_failed', { fields: [{ name: 'expiresIn', code: 'maximum', message: 'must be at most 7d' }] }));
      }
      const issued = await core.accounts.issuePasswordReset(Number(request.params.id), ttl, consoleContext(request));
      if (!issued) return sendWire(reply, nativeError('not_found'));
      const link: Static<typeof ResetLink> = { url: `${request.protocol}://${request.host}/console/reset-password#token=${issued.token}`, expiresAt: issued.expiresAt };
      return reply.code(201).send(link);
    },
  );
}
