/**
 * `GET /.well-known/jwks.json` (RFC 7517): the public keys of every signing key that may
 * still verify a live access JWT (pending, active, retiring). Resource servers verify service
 * access tokens locally with it; the key ring decides what is in it (src/signing/key-ring.ts).
 */
import type { Core } from '../../core/tokend.ts';
import { jwksSchema } from './schemas.ts';
import type { HttpApp } from '../dialect.ts';

export const JWKS_PATH = '/.well-known/jwks.json';

export async function registerJwks(app: HttpApp, core: Core): Promise<void> {
  app.get(
    JWKS_PATH,
    {
      schema: {
        ...jwksSchema,
        summary: 'JSON Web Key Set: the public keys that verify service-account access tokens',
        description:
          'A rotated-in key appears here before it signs (TOKEND_SIGNING_KEY_PUBLISH_DELAY); a rotated-out key stays until the last token it signed has expired.',
      },
    },
    async (_request, reply) => {
      const jwks = await core.signing.jwks();
      return reply.type('application/json; charset=utf-8').send(jwks);
    },
  );
}
