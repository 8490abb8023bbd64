/**
 * A small API protected by tokend, runnable with `node examples/resource-server/server.ts`.
 *
 * - Service-account access tokens (JWTs, hoster.by scheme) are verified locally through tokend's
 *   JWKS: no call to tokend per request.
 * - Opaque tokens (ChatApp access tokens, Invoicebox API tokens) are checked through tokend's
 *   introspection, cached for 5 s; that needs a resource-server credential
 *   (`tokend resource-server create --name orders-api`).
 *
 * Environment: TOKEND_URL (default http://127.0.0.1:8080), TOKEND_CREDENTIAL (optional: without it
 * only JWTs are accepted), TOKEND_JWT_ISSUER / TOKEND_JWT_AUDIENCE (tokend's defaults), PORT (8090).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { createVerifier, tokendFastify, tokenOf, type Verifier } from '../../client/src/index.ts';

export function buildOrdersApi(verifier: Verifier, options: { logger?: boolean } = {}): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? true });

  // Open to everyone.
  app.get('/health', async () => ({ status: 'ok' }));

  // Any valid token.
  app.register(async (api) => {
    await api.register(tokendFastify, { verifier });
    api.get('/me', async (request) => {
      const token = tokenOf(request);
      return { user: token.sub, scope: token.scope, via: token.source };
    });
  });

  // Tokens that carry the action (hoster.by service accounts list their allowed actions as scope).
  app.register(async (api) => {
    await api.register(tokendFastify, { verifier, scopes: ['dns_orders_list'] });
    api.get('/orders', async (request) => ({
      user: tokenOf(request).sub,
      orders: [{ id: 1, domain: 'example.by' }],
    }));
  });
  return app;
}

function verifierFromEnv(env: NodeJS.ProcessEnv): Verifier {
  const tokend = (env.TOKEND_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const credential = env.TOKEND_CREDENTIAL;
  return createVerifier({
    jwt: {
      jwksUrl: `${tokend}/.well-known/jwks.json`,
      issuer: env.TOKEND_JWT_ISSUER ?? 'tokend',
      audience: env.TOKEND_JWT_AUDIENCE ?? 'tokend-api',
    },
    ...(credential ? { introspection: { url: `${tokend}/oauth2/introspect`, credential } } : {}),
  });
}

if (import.meta.main) {
  const app = buildOrdersApi(verifierFromEnv(process.env));
  await app.listen({ port: Number(process.env.PORT ?? 8090), host: '127.0.0.1' });
}
