/**
 * The OpenAPI 3.1 document, generated from the route schemas (never written by hand), served at
 * `/openapi.json`, and the interactive docs at `/docs` (Swagger UI from npm, no CDN), grouped by tag
 * with the JSON downloadable from the top bar.
 *
 * Registered before every other route: @fastify/swagger collects routes through an onRoute hook,
 * so a route registered earlier would be missing. test/openapi.test.ts fails when one is.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { VERSION } from '../../version.ts';

/** Every tag a documented route may carry, in the order the docs page shows them. */
export const OPENAPI_TAGS = [
  { name: 'chatapp', description: 'ChatApp token scheme: tokens.make, tokens.refresh, tokens.check under /v1.' },
  { name: 'hoster', description: 'hoster.by service-account scheme: JWT access tokens from Access Key + Secret Key.' },
  { name: 'invoicebox', description: 'Invoicebox scheme: long-lived organisation API tokens sent as Bearer.' },
  { name: 'native', description: 'tokend\'s own surface: introspection (RFC 7662), revocation (RFC 7009), JWKS, forward-auth, the revocation stream, secret-scanning reports.' },
  { name: 'cabinet', description: 'The API of the personal cabinet: what a signed-in account manages (apps, service accounts, API tokens).' },
  { name: 'admin', description: 'The operator\'s API, behind the admin token.' },
  { name: 'ops', description: 'Health, readiness, metrics and this document.' },
] as const;

export type OpenApiTag = (typeof OPENAPI_TAGS)[number]['name'];

/** The page's own Content-Security-Policy: every asset is served by tokend itself. */
const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self' data:; " +
  "object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'tokend',
        version: VERSION,
        description:
          'Self-hosted API token service. One process speaks three wire-compatible token schemes ' +
          '(ChatApp, hoster.by, Invoicebox) and its own native API. Error codes: see docs/errors.md. ' +
          'This document as JSON: [/openapi.json](/openapi.json).',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      tags: OPENAPI_TAGS.map((t) => ({ ...t })),
      // The admin API's credentials (docs/admin-api.md) and introspection's: the Authorize button
      // of /docs takes a Bearer credential (the admin token, an operator key, a resource server's)
      // or a resource server's Basic pair; the console's cookie and CSRF token serve the console itself.
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'The admin token (`tdm_…` or TOKEND_ADMIN_TOKEN), an operator key (`tdp_…`, with the permissions the route names), or for introspection and revocation a resource-server credential (`tdx_…`).',
          },
          operatorConsole: { type: 'apiKey', in: 'cookie', name: 'tokend_operator', description: 'An operator console sign-in (set by `POST /api/admin/session`).' },
          csrf: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token', description: 'With the console cookie, on every state change: the `csrfToken` of `/api/admin/me`.' },
          resourceServerBasic: {
            type: 'http',
            scheme: 'basic',
            description: 'Introspection and revocation for stock OAuth clients: the resource server\'s id as user name, its credential (`tdx_…`) as password.',
          },
        },
      },
    },
    // OpenAPI 3.1 is JSON Schema 2020-12: `const` is native, no need to rewrite it to `enum`.
    convertConstToEnum: false,
  });

  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type('application/json; charset=utf-8').send(app.swagger());
  });

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_CSP,
    uiConfig: {
      docExpansion: 'list',
      deepLinking: true,
      displayRequestDuration: true,
      tryItOutEnabled: false,
    },
    theme: { title: 'tokend API' },
  });
}
