/**
 * Slow clients are cut off: headers must arrive within TOKEND_HEADERS_TIMEOUT, a whole request
 * within TOKEND_REQUEST_TIMEOUT, and an idle keep-alive connection closes after
 * TOKEND_KEEP_ALIVE_TIMEOUT. Real sockets against a listening tokend, with short bounds so the
 * test is quick; a cut answers 408 in the envelope of the surface the request was for when an
 * answer can still be written. The bounds themselves are the contract, so they are checked here
 * (with the one-second granularity of Node's connection checks).
 */
import { strict as assert } from 'node:assert';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { databases, startTokend, type TestTokend } from './helpers/harness.ts';

const HEADERS_MS = 1000;
const REQUEST_MS = 2000;
const KEEP_ALIVE_MS = 500;
// Node checks the bounds once a second; allow that plus scheduling on a busy machine.
const SLACK_MS = 2500;

interface Outcome {
  data: string;
  closedAfterMs: number;
}

/** Opens a socket, writes `head` at once, then `drip` one byte every `everyMs` until the server closes it. */
function slowClient(port: number, head: string, drip: string, everyMs: number): Promise<Outcome> {
  const started = Date.now();
  const socket: Socket = connect(port, '127.0.0.1');
  let data = '';
  let timer: NodeJS.Timeout | undefined;
  return new Promise((resolve) => {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ data, closedAfterMs: Date.now() - started });
    });
    socket.write(head);
    let i = 0;
    timer = setInterval(() => {
      if (socket.destroyed || !socket.writable) return;
      socket.write(drip[i % drip.length]!);
      i++;
    }, everyMs);
  });
}

function parse(outcome: Outcome): { status: number; headers: string; body: unknown } {
  const [head, body] = outcome.data.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head ?? '')?.[1] ?? 0);
  return { status, headers: head ?? '', body: body ? JSON.parse(body) : null };
}

for (const db of databases()) {
  describe(`timeouts against slow clients (${db})`, () => {
    let t: TestTokend;
    let port: number;
    before(async () => {
      t = await startTokend({ db, listen: true, config: { headersTimeout: HEADERS_MS, requestTimeout: REQUEST_MS, keepAliveTimeout: KEEP_ALIVE_MS } });
      port = Number(new URL(t.url).port);
    });
    after(async () => t.close());

    const slowBodies: [string, string, (body: unknown) => void][] = [
      ['/v1/tokens', 'ChatApp', (b) => assert.equal((b as { error: { code: string } }).error.code, 'ApiRequestTimeoutError')],
      ['/service/account/create/token', 'hoster.by', (b) => assert.match(JSON.stringify(b), /request_timeout/)],
      ['/v3/security/api/auth/auth', 'Invoicebox', (b) => assert.match(JSON.stringify(b), /request_timeout/)],
      ['/api/cabinet/session', 'native', (b) => assert.equal((b as { error: { code: string } }).error.code, 'request_timeout')],
    ];
    for (const [path, surface, check] of slowBodies) {
      it(`a body sent one byte at a time is cut within the request bound: 408 in the ${surface} envelope`, async () => {
        const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{`;
        const outcome = await slowClient(port, head, '"aaaaaaaa":1,', 150);
        assert.ok(outcome.closedAfterMs >= REQUEST_MS - 100, `cut too early: ${outcome.closedAfterMs} ms`);
        assert.ok(outcome.closedAfterMs <= REQUEST_MS + SLACK_MS, `still open after ${outcome.closedAfterMs} ms`);
        const res = parse(outcome);
        assert.equal(res.status, 408, outcome.data);
        assert.match(res.headers, /cache-control: no-store/i);
        check(res.body);
      });
    }

    it('headers sent one byte at a time are cut within the header bound, with a 408', async () => {
      const outcome = await slowClient(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaa\r\n', 100);
      assert.ok(outcome.closedAfterMs <= HEADERS_MS + SLACK_MS, `still open after ${outcome.closedAfterMs} ms`);
      assert.ok(outcome.closedAfterMs < REQUEST_MS + 1000, 'the header bound, not the request bound, cut it');
      const res = parse(outcome);
      assert.equal(res.status, 408, outcome.data);
      assert.equal((res.body as { error: { code: string } }).error.code, 'request_timeout');
    });

    it('an idle keep-alive connection is closed after the keep-alive bound', async () => {
      const started = Date.now();
      const socket = connect(port, '127.0.0.1');
      let data = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (data += d));
      const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const ms = await closed;
      assert.match(data, /^HTTP\/1\.1 200/);
      // One response, and no 408 after it (not /408/ anywhere: a request id may hold those digits).
      assert.equal(data.match(/^HTTP\/1\.1 /gm)?.length, 1, data);
      assert.doesNotMatch(data, /^HTTP\/1\.1 408/m);
      assert.ok(ms >= KEEP_ALIVE_MS - 50 && ms <= KEEP_ALIVE_MS + SLACK_MS, `closed after ${ms} ms`);
    });

    it('other clients are served while slow ones hold connections', async () => {
      const head = `POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{`;
      const slow = Array.from({ length: 50 }, () => slowClient(port, head, ' ', 300));
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${t.url}/healthz`);
        assert.equal(res.status, 200);
        await res.text();
      }
      const outcomes = await Promise.all(slow);
      for (const o of outcomes) assert.equal(parse(o).status, 408);
    });
  });
}
