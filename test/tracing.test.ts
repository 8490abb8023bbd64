/**
 * Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, a real `tokend serve` exports spans over OTLP/HTTP
 * to a small receiver on loopback; a refresh is one trace with the HTTP request's span, the core
 * operation's and the store transaction's, each the child of the one before. Without it, the
 * OpenTelemetry SDK is never even loaded.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config/load.ts';
import { openServices } from '../src/services.ts';
import { createTestDatabase, seedAccount, type TestDatabase } from './helpers/harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEND = `${ROOT}bin/tokend.js`;
const MASTER_KEY = `tracing-test-master-key-${randomBytes(16).toString('hex')}`;

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

function attribute(span: OtlpSpan, key: string): string | undefined {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : String(v.stringValue ?? v.intValue);
}

describe('OpenTelemetry traces over OTLP/HTTP', () => {
  let db: TestDatabase;
  let receiver: Server;
  let endpoint: string;
  const spans: OtlpSpan[] = [];
  const requests: { path: string; contentType: string }[] = [];
  let user: { email: string; password: string; appId: string };

  before(async () => {
    db = await createTestDatabase('sqlite');
    const services = await openServices(loadConfig({ env: { TOKEND_MASTER_KEY: MASTER_KEY }, overrides: { dataDir: db.dataDir } }));
    try {
      user = await seedAccount(services.core);
    } finally {
      await services.close();
    }
    // A minimal OTLP/HTTP receiver: it takes the JSON encoding (ExportTraceServiceRequest) and answers as a collector does.
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        requests.push({ path: req.url ?? '', contentType: String(req.headers['content-type']) });
        const parsed = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const rs of parsed.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await db.drop();
  });

  it('a refresh is one trace: HTTP request -> core operation -> store transaction', async () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TOKEND_') && !k.startsWith('OTEL_')) env[k] = v;
    Object.assign(env, { TOKEND_MASTER_KEY: MASTER_KEY, TOKEND_SHUTDOWN_DRAIN: '0', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'tokend-test' });
    const child = spawn(process.execPath, [TOKEND, 'serve', '--port', '0', '--data-dir', db.dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    for (let i = 0; !/tokend listening on/.test(output); i++) {
      assert.ok(i < 600 && child.exitCode === null, `tokend did not start:\n${output}`);
      await sleep(100);
    }
    const base = /tokend listening on (http:\/\/\S+)/.exec(output)![1]!;
    const made = await fetch(`${base}/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(user) });
    assert.equal(made.status, 200);
    const { refreshToken } = ((await made.json()) as { data: { refreshToken: string } }).data;
    const refreshed = await fetch(`${base}/v1/tokens/refresh`, { method: 'POST', headers: { refresh: refreshToken } });
    assert.equal(refreshed.status, 200, await refreshed.clone().text());
    await refreshed.text();
    const requestId = refreshed.headers.get('x-request-id')!;
    // The last spans go out at shutdown.
    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);

    assert.ok(requests.length > 0, 'nothing was exported');
    assert.ok(requests.every((r) => r.path === '/v1/traces' && r.contentType.startsWith('application/json')), JSON.stringify(requests));
    const roots = spans.filter((s) => attribute(s, 'tokend.request_id') === requestId);
    assert.equal(roots.length, 1, 'one span for the refresh request');
    const root = roots[0]!;
    assert.equal(root.name, 'POST /v1/tokens/refresh');
    assert.equal(root.kind, 2, 'a server span');
    assert.equal(root.parentSpanId || undefined, undefined);
    assert.equal(attribute(root, 'http.route'), '/v1/tokens/refresh');
    assert.equal(attribute(root, 'http.response.status_code'), '200');
    const trace = spans.filter((s) => s.traceId === root.traceId);
    const core = trace.find((s) => s.name === 'core.sessions.refresh');
    assert.ok(core, `no core span in ${trace.map((s) => s.name).join(', ')}`);
    assert.equal(core.parentSpanId, root.spanId, 'the core operation is a child of the request');
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const store = trace.filter((s) => s.name === 'store.transaction');
    assert.ok(store.length >= 1, `no store span in ${trace.map((s) => s.name).join(', ')}`);
    for (const tx of store) {
      // Its ancestors lead to the core operation, then the request.
      let up = byId.get(tx.parentSpanId ?? '');
      while (up && up !== core) up = byId.get(up.parentSpanId ?? '');
      assert.equal(up, core, 'the store transaction runs inside the core operation');
    }
    // Nothing secret in a span: no token in any name or attribute.
    assert.ok(!JSON.stringify(spans).includes(refreshToken));
  });

  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT: the SDK is never loaded', async () => {
    const probe = `
      import { registerHooks } from 'node:module';
      const seen = new Set();
      registerHooks({ resolve(specifier, context, next) { if (specifier.startsWith('@opentelemetry/') || specifier.endsWith('/otel.ts')) seen.add(specifier); return next(specifier, context); } });
      const { startTracing } = await import(${JSON.stringify(`${ROOT}src/observability/tracing.ts`)});
      const tracing = await startTracing(process.env, '0');
      console.log(JSON.stringify({ on: tracing !== null, seen: [...seen] }));
      await tracing?.shutdown();
    `;
    const run = async (extra: Record<string, string>): Promise<{ on: boolean; seen: string[] }> => {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('OTEL_')) env[k] = v;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', probe], { env: { ...env, ...extra } });
      return JSON.parse(stdout.trim().split('\n').pop()!) as { on: boolean; seen: string[] };
    };
    const off = await run({});
    assert.deepEqual(off, { on: false, seen: [] });
    const on = await run({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
    assert.equal(on.on, true);
    assert.ok(on.seen.includes('@opentelemetry/sdk-trace'), JSON.stringify(on.seen));
  });
});
