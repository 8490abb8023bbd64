/**
 * Request ids: a safe `X-Request-Id` (1-128 of `A-Za-z0-9._:/+=@~-`) is kept, anything else is
 * replaced by a new UUID and never echoed; the id is on every response, success or failure, of
 * every surface, and on the request's access-log line.
 */
import { strict as assert } from 'node:assert';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

for (const db of databases()) {
  describe(`X-Request-Id (${db})`, () => {
    let t: TestTokend;
    before(async () => {
      t = await startTokend({ db, listen: true, config: { logLevel: 'debug' } });
    });
    after(async () => t.close());

    function linesWith(id: string): { reqId?: string; msg?: string; res?: { status?: number } }[] {
      return t.logs.map((l) => JSON.parse(l) as { reqId?: string; msg?: string }).filter((l) => l.reqId === id);
    }

    it('keeps a safe id, echoes it and writes it on the access-log line, on success and failure alike', async () => {
      const u = await seedAccount(t.core);
      const cases = [
        { method: 'GET', url: '/healthz', status: 200 },
        { method: 'GET', url: '/no/such/route', status: 404 },
        { method: 'POST', url: '/v1/tokens', status: 401, payload: { email: u.email, password: 'wrong', appId: u.appId } },
        { method: 'POST', url: '/v1/tokens', status: 200, payload: { email: u.email, password: u.password, appId: u.appId } },
        { method: 'POST', url: '/service/account/create/token', status: 400 },
        { method: 'GET', url: '/v3/security/api/auth/auth', status: 200 },
        { method: 'POST', url: '/oauth2/introspect', status: 401, payload: { token: 'x' } },
        { method: 'POST', url: '/v1/tokens', status: 400, payload: '{"email":' },
      ] as const;
      let n = 0;
      for (const c of cases) {
        const id = `trace-${++n}:abc/DEF_09.~+=@`;
        const res = await t.app.inject({ method: c.method, url: c.url, headers: { 'x-request-id': id, 'content-type': 'application/json' }, ...('payload' in c ? { payload: c.payload } : {}) });
        assert.equal(res.statusCode, c.status, `${c.method} ${c.url}: ${res.body}`);
        assert.equal(res.headers['x-request-id'], id, `${c.method} ${c.url}`);
        const lines = linesWith(id);
        assert.ok(lines.some((l) => l.msg === 'request completed' && l.res?.status === c.status), `${c.method} ${c.url}: no access-log line with the id`);
      }
    });

    it('generates one when there is none, a new one per request', async () => {
      const a = await t.app.inject({ method: 'GET', url: '/healthz' });
      const b = await t.app.inject({ method: 'GET', url: '/healthz' });
      const idA = String(a.headers['x-request-id']);
      assert.match(idA, UUID);
      assert.notEqual(idA, b.headers['x-request-id']);
      assert.equal(linesWith(idA).length, 1);
    });

    it('replaces a malformed id and never echoes it, in the response or the logs', async () => {
      const bad = ['', 'a'.repeat(129), 'has space', 'semi;colon', '<script>', 'quote"d', 'tab\there', 'ctl\u0001x', 'del\u007f', 'caf\u00e9', 'line\r\nX-Injected: 1'];
      for (const id of bad) {
        const before = t.logs.length;
        const res = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } });
        assert.equal(res.statusCode, 200);
        const echoed = String(res.headers['x-request-id']);
        assert.match(echoed, UUID, JSON.stringify(id));
        assert.equal(res.headers['x-injected'], undefined);
        if (id.length > 0) for (const line of t.logs.slice(before)) assert.ok(!line.includes(JSON.stringify(id).slice(1, -1)), line);
      }
    });

    it('a request that never parses still gets an id on its raw answer', async () => {
      const answer = await new Promise<string>((resolve) => {
        const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
        let data = '';
        socket.on('data', (d) => (data += d.toString('latin1')));
        socket.on('close', () => resolve(data));
        socket.on('error', () => {});
        socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'a'.repeat(70_000) + '\r\n\r\n');
      });
      assert.match(answer, /^HTTP\/1\.1 431/);
      assert.match(answer, /\r\nX-Request-Id: [0-9a-f-]{36}\r\n/);
    });
  });
}
