import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { canonicalJson, chainHash, ChainVerifier, GENESIS_HASH, RETENTION_CUT_TYPE, type StoredChainEntry } from './audit-chain.ts';

function chain(n: number): StoredChainEntry[] {
  const out: StoredChainEntry[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const e = { seq, at: 1_700_000_000_000 + seq, type: 'login.failed', accountId: seq % 3 === 0 ? null : seq, sessionId: null, address: '10.0.0.1', detail: { email: `u${seq}@x` } };
    const hash = chainHash(e, prev);
    out.push({ ...e, id: 100 + seq, prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

function verify(entries: StoredChainEntry[]): ReturnType<ChainVerifier['verdict']> {
  const v = new ChainVerifier();
  for (const e of entries) if (!v.push(e)) break;
  return v.verdict();
}

describe('audit chain', () => {
  it('encodes canonically: key order and whitespace do not matter, values do', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, 'x'], c: null } }), '{"a":{"c":null,"d":[1,"x"]},"b":1}');
    assert.equal(canonicalJson({ a: 1, b: undefined }), '{"a":1}');
    const e = { seq: 1, at: 5, type: 't', accountId: 1, sessionId: null, address: null, detail: { x: 1, y: 'z' } };
    assert.equal(chainHash(e, GENESIS_HASH), chainHash({ ...e, detail: { y: 'z', x: 1 } }, GENESIS_HASH));
    for (const changed of [{ ...e, seq: 2 }, { ...e, at: 6 }, { ...e, type: 'u' }, { ...e, accountId: 2 }, { ...e, address: 'a' }, { ...e, detail: { x: 2, y: 'z' } }]) {
      assert.notEqual(chainHash(changed, GENESIS_HASH), chainHash(e, GENESIS_HASH));
    }
    assert.notEqual(chainHash(e, 'f'.repeat(64)), chainHash(e, GENESIS_HASH));
  });

  it('hashes as it always has: chains already stored still verify', () => {
    const e = {
      seq: 7,
      at: 1_700_000_000_123,
      type: 'session.refreshed',
      accountId: 42,
      sessionId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      address: '2001:db8::1',
      detail: { kind: 'chatapp', generation: 3, nested: { z: [1, 'two', null, { b: true, a: 1.5 }], a: 'é\u2028"' } },
    };
    assert.equal(canonicalJson(e.detail), '{"generation":3,"kind":"chatapp","nested":{"a":"é\u2028\\"","z":[1,"two",null,{"a":1.5,"b":true}]}}');
    assert.equal(chainHash(e, GENESIS_HASH), '948a2c5696b31922cd5021de37b82158dcb02cb8d4c829d2ff80a38227f08e28');
    assert.equal(chainHash({ ...e, accountId: null, sessionId: null, address: null, detail: {} }, 'ab'.repeat(32)), 'f4e3bc3424962aa27139ba32fec46f6e8f57cd20f93ce86da9f032ff162a59d1');
    assert.equal(canonicalJson({ '': 0, b: [], a: {}, B: undefined, é: 'x', 'a b': 1 }), '{"":0,"a":{},"a b":1,"b":[],"é":"x"}');
  });

  it('proves an intact chain and names the first broken link', () => {
    const entries = chain(10);
    assert.deepEqual(verify(entries), { ok: true, entries: 10, firstSeq: 1, lastSeq: 10, lastHash: entries[9]!.hash });
    const altered = entries.map((e) => (e.seq === 4 ? { ...e, detail: { email: 'forged@x' } } : e));
    assert.deepEqual(verify(altered), { ok: false, brokenAt: { id: 104, seq: 4 }, reason: 'its contents do not match its hash', entries: 4 });
    const removed = entries.filter((e) => e.seq !== 6);
    const r = verify(removed);
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? null : r.brokenAt, { id: 107, seq: 7 });
    const headless = entries.slice(3);
    const h = verify(headless);
    assert.deepEqual(h.ok ? null : h.brokenAt, { id: 104, seq: 4 }, 'a start removed without a recorded cut');
  });

  it('accepts a start a retention cut recorded, and only that start', () => {
    const entries = chain(10);
    const kept = entries.slice(5);
    const last = kept[kept.length - 1]!;
    const detail = { keptFromSeq: 6, keptFromPrevHash: entries[4]!.hash, deleted: 5, before: 0 };
    const cut = { seq: 11, at: last.at + 1, type: RETENTION_CUT_TYPE, accountId: null, sessionId: null, address: null, detail };
    const cutEntry: StoredChainEntry = { ...cut, id: 111, prevHash: last.hash, hash: chainHash(cut, last.hash) };
    assert.ok(verify([...kept, cutEntry]).ok);
    assert.equal(verify([...kept.slice(1), cutEntry]).ok, false, 'one more removed than the cut says');
  });
});
