/** The baselines, each its own process on loopback: a bare Fastify floor and node-oidc-provider. */
import { join } from 'node:path';
import { cpuSecondsOf, freePort, spawnServer, type Server } from './procs.ts';
import { writeSpec, runWrk, type SpecRequest, type WrkResult } from './wrk.ts';
import type { Target } from './measure.ts';

const PEERS = new URL('../peers/', import.meta.url).pathname;

export const OIDC_CLIENT = { id: 'bench-client', secret: 'bench-client-secret-0123456789abcdef' } as const;
const OIDC_BASIC = 'Basic ' + Buffer.from(`${OIDC_CLIENT.id}:${OIDC_CLIENT.secret}`).toString('base64');

export async function startFloor(work: string): Promise<Server> {
  const port = await freePort();
  return spawnServer({ name: 'floor', args: [join(PEERS, 'floor-server.ts'), String(port)], port, readyPath: '/healthz', logFile: join(work, 'floor.log') });
}

export async function startOidc(work: string, name: string): Promise<Server> {
  const port = await freePort();
  return spawnServer({
    name,
    args: [join(PEERS, 'oidc-server.ts'), String(port)],
    env: { BENCH_OIDC_CLIENT_ID: OIDC_CLIENT.id, BENCH_OIDC_CLIENT_SECRET: OIDC_CLIENT.secret, NODE_ENV: 'production' },
    port,
    readyPath: '/.well-known/openid-configuration',
    logFile: join(work, `${name}.log`),
  });
}

/** The client_credentials request (RFC 6749 4.4) with client_secret_basic. */
export const OIDC_TOKEN_REQUEST: SpecRequest = {
  method: 'POST',
  path: '/token',
  body: 'grant_type=client_credentials',
  headers: { Authorization: OIDC_BASIC, 'Content-Type': 'application/x-www-form-urlencoded' },
};

export function oidcIntrospectRequest(token: string): SpecRequest {
  return {
    method: 'POST',
    path: '/token/introspection',
    body: `token=${encodeURIComponent(token)}`,
    headers: { Authorization: OIDC_BASIC, 'Content-Type': 'application/x-www-form-urlencoded' },
  };
}

/** Issues `count` opaque access tokens through the peer's token endpoint. */
export async function oidcTokens(server: Server, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await send(server.url, OIDC_TOKEN_REQUEST);
    if (r.status !== 200) throw new Error(`oidc-provider token endpoint answered ${r.status}: ${r.text}`);
    out.push((JSON.parse(r.text) as { access_token: string }).access_token);
  }
  return out;
}

export async function send(base: string, r: SpecRequest): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(base + r.path, { method: r.method, headers: r.headers ?? {}, ...(r.body !== undefined ? { body: r.body } : {}) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** A wrk target cycling through fixed requests. */
export function specTarget(o: {
  key: string;
  label: string;
  url: string;
  specFile: string;
  requests: readonly SpecRequest[];
  connections: number;
  timeoutS?: number;
  /** The server's pid: CPU time per request is measured too (robust on a shared machine). */
  pid?: number;
}): Target {
  writeSpec(o.specFile, o.requests);
  return {
    key: o.key,
    label: o.label,
    run: (durationS) =>
      withCpu(o.pid, () =>
        runWrk({
          url: o.url,
          script: 'requests.lua',
          scriptArgs: [o.specFile, '1'],
          connections: o.connections,
          durationS,
          ...(o.timeoutS ? { timeoutS: o.timeoutS } : {}),
        }),
      ),
  };
}

/** Runs a load and adds the server's CPU time per successful response to the result. */
export async function withCpu(pid: number | undefined, run: () => Promise<WrkResult>): Promise<WrkResult> {
  if (pid === undefined) return run();
  const before = cpuSecondsOf(pid);
  const result = await run();
  const used = cpuSecondsOf(pid) - before;
  const ok = result.requests - result.errors;
  return { ...result, cpuUsPerReq: ok > 0 ? (used * 1e6) / ok : Number.NaN };
}
