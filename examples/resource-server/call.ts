/**
 * Calls the example API the way the hoster.by documentation asks clients to: one token from the demo service
 * account's keys, stored in a file, refreshed only when it has expired.
 * Run `node examples/resource-server/call.ts` twice: the second run creates no token.
 */
import { HosterClient } from '../../client/src/index.ts';
import { FileTokenStore } from '../../client/src/file-store.ts';
import type { HosterTokens } from '../../client/src/index.ts';

const client = new HosterClient({
  baseUrl: process.env.TOKEND_URL ?? 'http://127.0.0.1:8080',
  apiUrl: process.env.API_URL ?? 'http://127.0.0.1:8090',
  // The demo sandbox's published keys (`tokend serve --demo`).
  accessKey: process.env.ACCESS_KEY ?? 'AKDEMOSANDBOXTOKENDKEY',
  secretKey: process.env.SECRET_KEY ?? 'tds_DemoSecretKeyTokendSandbox100tE9x',
  store: new FileTokenStore<HosterTokens>(process.env.TOKEN_FILE ?? './data/example-client-tokens.json'),
});

const response = await client.fetch('/orders');
console.log(response.status, await response.json());
