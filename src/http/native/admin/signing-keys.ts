/**
 * JWT signing keys in the admin API: list them with their state (which are published in
 * /.well-known/jwks.json, which one signs) and rotate. A new key is published before it signs;
 * a superseded one stays published until the last token it signed has expired
 * (docs/configuration.md, "JWT signing keys and the master key").
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Core } from '../../../core/tokend.ts';
import type { SigningKeyInfo } from '../../../core/ports.ts';
import { consoleContext } from '../console-auth.ts';
import { readResponses, writeResponses } from '../console-responses.ts';
import { KeyRotation, SigningKeyList, SigningKeyView } from '../console-schemas.ts';
import type { HttpApp } from '../../dialect.ts';
import { adminRoute } from './access.ts';

const NoBody = Type.Object({}, { additionalProperties: false });

export function signingKeyView(k: SigningKeyInfo): Static<typeof SigningKeyView> {
  return {
    kid: k.kid,
    alg: k.alg,
    state: k.state,
    published: k.state !== 'retired',
    signing: k.state === 'active',
    createdAt: k.createdAt,
    activatesAt: k.activatesAt,
    signsUntil: k.signsUntil,
    publishedUntil: k.publishedUntil,
  };
}

export async function registerAdminSigningKeys(app: HttpApp, core: Core): Promise<void> {
  app.get('/api/admin/signing-keys', adminRoute('signing-keys:read', { summary: 'Signing keys: state, published or not, which one signs', response: readResponses(SigningKeyList, ['too_many_attempts']) }), async () => {
    await core.signing.ready();
    const keys = await core.signing.list();
    return { items: keys.map(signingKeyView).reverse() };
  });

  app.post(
    '/api/admin/signing-keys/rotate',
    adminRoute('signing-keys:write', {
      summary: 'Add a new signing key: published now, signing after the publish delay',
      body: NoBody,
      response: writeResponses(200, KeyRotation, ['too_many_attempts']),
    }),
    async (request) => {
      const result = await core.signing.rotate(consoleContext(request));
      return {
        key: signingKeyView(result.key),
        previous: result.previous ? signingKeyView(result.previous) : null,
        deleted: result.deleted,
      };
    },
  );
}
