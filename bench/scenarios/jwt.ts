/**
 * Local JWT verification in the SDK (client/: createVerifier with JWKS verification) against
 * jose's jwtVerify with the public key already in hand, on real tokend JWTs: access tokens from
 * the hoster create endpoint, keys from /.well-known/jwks.json. In-process, no HTTP per call, 16
 * verifications in flight (as a resource server verifies the tokens of concurrent requests).
 */
import { createLocalJWKSet, importJWK, jwtVerify, type JWK } from 'jose';
import { createVerifier } from '../../client/src/index.ts';
import { compare, type Context, type ScenarioResult } from '../lib/context.ts';
import type { Summary } from '../lib/measure.ts';
import { send } from '../lib/peers.ts';
import { median } from '../lib/stats.ts';
import { CREATE_PATH } from './durable.ts';

const ISSUER = 'tokend';
const AUDIENCE = 'tokend-api';

/** Verifications in flight at once: a resource server verifies the tokens of concurrent requests. */
const IN_FLIGHT = 16;

async function opsPerS(iterations: number, tokens: readonly string[], verify: (t: string) => Promise<boolean>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < iterations) {
        const i = next++;
        if (!(await verify(tokens[i % tokens.length]!))) throw new Error('a valid token did not verify: the comparison would be meaningless');
      }
    }),
  );
  return iterations / ((performance.now() - t0) / 1000);
}

function summary(key: string, label: string, rounds: number[]): Summary {
  return { key, label, rps: median(rounds), p50us: Number.NaN, p99us: Number.NaN, errors: 0, requests: 0, rounds, cpuUsPerReq: Number.NaN };
}

export async function jwtScenario(ctx: Context): Promise<ScenarioResult> {
  const { p } = ctx;
  const { fixture, server } = await ctx.small();
  const tokens: string[] = [];
  for (let i = 0; i < 32; i++) {
    const k = fixture.serviceKeys[i % fixture.serviceKeys.length]!;
    const r = await send(server.url, { method: 'POST', path: CREATE_PATH, headers: { 'Access-Key': k.accessKey, 'Secret-Key': k.secretKey } });
    const token = /"accessToken": "([^"]+)"/.exec(r.text)?.[1];
    if (r.status !== 200 || !token) throw new Error(`tokend create answered ${r.status} ${r.text}`);
    tokens.push(token);
  }
  const jwksUrl = `${server.url}/.well-known/jwks.json`;
  const jwks = (await (await fetch(jwksUrl)).json()) as { keys: (JWK & { kid: string })[] };
  const kid = JSON.parse(Buffer.from(tokens[0]!.split('.')[0]!, 'base64url').toString()).kid as string;
  const jwk = jwks.keys.find((k) => k.kid === kid);
  if (!jwk) throw new Error('the signing key is not in the JWKS');
  const alg = jwk.alg ?? 'EdDSA';
  const publicKey = await importJWK(jwk, alg);
  const localSet = createLocalJWKSet(jwks);
  const options = { issuer: ISSUER, audience: AUDIENCE, algorithms: [alg], typ: 'at+jwt' };

  const sdk = createVerifier({ jwt: { jwksUrl, issuer: ISSUER, audience: AUDIENCE, algorithms: [alg] } });
  const sides: { key: string; label: string; verify: (t: string) => Promise<boolean> }[] = [
    { key: 'sdk', label: 'SDK createVerifier({ jwt }).verify', verify: async (t) => (await sdk.verify(t)).active },
    { key: 'jose', label: 'jose.jwtVerify, public key in hand', verify: async (t) => (await jwtVerify(t, publicKey, options)).payload.sub !== undefined },
    { key: 'joseSet', label: 'jose.jwtVerify with createLocalJWKSet', verify: async (t) => (await jwtVerify(t, localSet, options)).payload.sub !== undefined },
  ];
  const rounds = p.mode === 'quick' ? 4 : p.rounds * 3;
  ctx.log(`  jwt: ${rounds} rounds x ${p.jwtIterations} verifications per side, ${IN_FLIGHT} in flight, ${alg}`);
  for (const s of sides) await opsPerS(Math.min(2000, p.jwtIterations), tokens, s.verify);
  // Short rounds, many of them, interleaved: the figures are small and the machine is shared.
  const results = new Map<string, number[]>(sides.map((s) => [s.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (const s of sides) {
      const ops = await opsPerS(p.jwtIterations, tokens, s.verify);
      results.get(s.key)!.push(ops);
      ctx.log(`    round ${r + 1}/${rounds} ${s.label}: ${Math.round(ops)} /s`);
    }
  }
  const sum = (key: string) => summary(key, sides.find((s) => s.key === key)!.label, results.get(key)!);
  return {
    comparisons: [
      compare('jwt-jose', `local JWT verification in the SDK (${alg})`, sum('sdk'), sum('jose'), 0.9, '>= 0.9 of raw jose.jwtVerify'),
      compare('jwt-jwks', `local JWT verification in the SDK (${alg})`, sum('sdk'), sum('joseSet'), 0.9, '>= 0.9 (for reference: jose with a local JWKS)'),
    ],
    sections: [],
    facts: {},
  };
}
