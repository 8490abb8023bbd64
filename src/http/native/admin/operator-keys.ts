/**
 * Operator keys in the admin API (docs/admin-api.md, "Operator keys"): list, create (the key shown
 * once), revoke. Only the admin token or the operator console may call these (`'admin'`): an
 * operator key can never list, mint or revoke keys, its own included.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { OperatorKey } from '../../../core/model.ts';
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { consoleContext } from '../console-auth.ts';
import { readResponses, writeResponses } from '../console-responses.ts';
import { NewOperatorKey as CreatedKey, OperatorKeyList as KeyList, OperatorKeyView } from '../console-schemas.ts';
import { adminRoute, PERMISSIONS } from './access.ts';
import { Duration, durationMs } from './duration.ts';
import { viewOrNotFound } from '../answers.ts';

const Strict = { additionalProperties: false } as const;
const NoBody = Type.Object({}, Strict);
const KeyParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'The operator key\'s id.' }) }, Strict);
const PermissionName = Type.Union(PERMISSIONS.map((p) => Type.Literal(p)), { description: '`<area>:read` or `<area>:write` (write includes read).' });
const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, description: 'Who uses it (shown in lists and the audit log).' }),
    permissions: Type.Array(PermissionName, { minItems: 1, maxItems: PERMISSIONS.length * 2 }),
    expiresIn: Type.Optional(Duration('When it stops working; none: it works until revoked.')),
  },
  Strict,
);

function keyView(k: OperatorKey, now: number): Static<typeof OperatorKeyView> {
  const status = k.revokedAt !== null ? 'revoked' : k.expiresAt !== null && k.expiresAt <= now ? 'expired' : 'active';
  return { ...k, permissions: [...k.permissions], status };
}

export async function registerAdminOperatorKeys(app: HttpApp, core: Core): Promise<void> {
  app.get(
    '/api/admin/operator-keys',
    adminRoute('admin', { summary: 'Operator keys, newest first (never a key itself)', response: readResponses(KeyList) }),
    async () => {
      const now = core.clock.now();
      return { items: (await core.operatorKeys.list()).map((k) => keyView(k, now)) };
    },
  );

  app.post(
    '/api/admin/operator-keys',
    adminRoute('admin', {
      summary: 'Create an operator key with a permission set; the key is shown once',
      body: CreateBody,
      response: writeResponses(201, CreatedKey),
    }, { idempotent: true }),
    async (request, reply) => {
      const { name, permissions, expiresIn } = request.body;
      const expiresAt = expiresIn === undefined ? null : core.clock.now() + durationMs(expiresIn);
      const { operatorKey, key } = await core.operatorKeys.create({ name, permissions, expiresAt }, consoleContext(request));
      const created: Static<typeof CreatedKey> = { id: operatorKey.id, key, name: operatorKey.name, permissions: [...operatorKey.permissions], expiresAt: operatorKey.expiresAt };
      return reply.code(201).send(created);
    },
  );

  app.post(
    '/api/admin/operator-keys/:id/revoke',
    adminRoute('admin', {
      summary: 'Revoke an operator key: every node refuses it at once',
      params: KeyParams,
      body: NoBody,
      response: writeResponses(200, OperatorKeyView, ['not_found']),
    }),
    async (request, reply) => {
      const revoked = await core.operatorKeys.revoke(request.params.id.toLowerCase(), consoleContext(request));
      return viewOrNotFound(reply, revoked, (key) => keyView(key, core.clock.now()));
    },
  );
}
