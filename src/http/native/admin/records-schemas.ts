/**
 * Response schemas of the admin routes for an account's records (apps, service accounts and keys,
 * API tokens, sessions, audit, usage), in the style of src/http/native/console-schemas.ts, whose
 * record views they extend with what only the operator needs (the owning account's id).
 */
import { Type } from '@sinclair/typebox';
import { ApiTokenView, AppView, AuditView, Ms, Nullable, ServiceAccountView, SessionView } from '../console-schemas.ts';
import { NextCursor } from '../paging.ts';

const OwnerId = Type.Integer({ description: 'The id of the account it belongs to.' });

export const AdminAppPage = Type.Object({ items: Type.Array(AppView), nextCursor: NextCursor });
export const AppDeleted = Type.Object({
  deleted: Type.Literal(true),
  sessionsRevoked: Type.Integer({ description: 'Sessions started with its appId, revoked now.' }),
  policyRemoved: Type.Boolean({ description: 'Whether it had rules (a policy), removed with it.' }),
});

export const AdminServiceAccountView = Type.Object({ ...ServiceAccountView.properties, accountId: OwnerId });
export const AdminServiceAccountPage = Type.Object({ items: Type.Array(AdminServiceAccountView), nextCursor: NextCursor });
export const AdminNewServiceKey = Type.Object({
  keyId: Type.Integer(),
  accessKey: Type.String({ description: 'Public: send it as `Access-Key`.' }),
  secretKey: Type.String({ description: 'Send it as `Secret-Key`: in this response only, never again.' }),
  expiresAt: Nullable(Type.Integer({ description: 'Expiry, Unix milliseconds; null: none.' })),
});

export const AdminApiTokenView = Type.Object({ ...ApiTokenView.properties, accountId: OwnerId });
export const AdminApiTokenPage = Type.Object({ items: Type.Array(AdminApiTokenView), nextCursor: NextCursor });
export const AdminNewApiToken = Type.Object({
  ...AdminApiTokenView.properties,
  token: Type.String({ description: 'The token: in this response only, never again.' }),
});
export const AdminRotatedApiToken = Type.Object({
  ...AdminNewApiToken.properties,
  previous: AdminApiTokenView,
});

export const AdminSessionPage = Type.Object({
  items: Type.Array(SessionView),
  total: Type.Integer({ description: 'How many live sessions the account has in all.' }),
  nextCursor: NextCursor,
});

export const AdminAuditView = Type.Object({ ...AuditView.properties, accountId: Nullable(Type.Integer({ description: 'The account it concerns; null: none.' })) });
export const AdminAuditPage = Type.Object({ items: Type.Array(AdminAuditView), nextCursor: NextCursor });

const DayCount = Type.Object({ day: Ms('Start of the UTC day.'), count: Type.Integer({ description: 'Successful token checks that day.' }) });
export const InstanceUsage = Type.Object({ checks: Type.Array(DayCount, { description: 'Oldest first, today last.' }) });
export const AccountUsage = Type.Object({ accountId: Type.Integer(), checks: Type.Array(DayCount, { description: 'Oldest first, today last.' }) });
