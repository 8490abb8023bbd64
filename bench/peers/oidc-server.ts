/**
 * The peer: node-oidc-provider, configured the way a small deployment would run it for machine
 * clients: one confidential client with the client_credentials grant, opaque access tokens, the
 * in-memory adapter (its fastest storage: nothing durable), and RFC 7662 introspection.
 *
 * Run as its own process by bench/run.ts: `node bench/peers/oidc-server.ts <port>` (client id and
 * secret from BENCH_OIDC_CLIENT_ID / BENCH_OIDC_CLIENT_SECRET). Its two start-up warnings (memory
 * adapter, development signing keys) are printed once, not per request.
 */
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? 0);
const clientId = process.env.BENCH_OIDC_CLIENT_ID ?? 'bench-client';
const clientSecret = process.env.BENCH_OIDC_CLIENT_SECRET ?? 'bench-client-secret-0123456789abcdef';
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      introspection_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    devInteractions: { enabled: false },
  },
  ttl: { ClientCredentials: 3600 },
});

const server = createServer(provider.callback());
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
process.once('SIGINT', () => server.close(() => process.exit(0)));
