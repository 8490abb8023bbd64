import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { allowEntryProblem, AllowList, normalizeAllowEntry } from './ip.ts';

describe('IP allow-lists', () => {
  it('IPv4 ranges: both ends in, one past each end out; /32 and /0', () => {
    const list = new AllowList(['10.0.0.0/8', '192.0.2.7/32']);
    for (const a of ['10.0.0.0', '10.255.255.255', '10.1.2.3', '192.0.2.7']) assert.equal(list.allows(a), true, a);
    for (const a of ['9.255.255.255', '11.0.0.0', '192.0.2.6', '192.0.2.8']) assert.equal(list.allows(a), false, a);
    assert.equal(new AllowList(['0.0.0.0/0']).allows('203.0.113.9'), true);
    assert.equal(new AllowList(['0.0.0.0/0']).allows('2001:db8::1'), false);
  });

  it('a range written with host bits set means its network', () => {
    assert.equal(new AllowList(['10.1.2.3/16']).allows('10.1.200.1'), true);
    assert.equal(new AllowList(['10.1.2.3/16']).allows('10.2.0.1'), false);
  });

  it('IPv6 ranges, compressed or not; /128 and /0; IPv4 and IPv6 never match each other', () => {
    const list = new AllowList(['2001:db8::/32', '2001:0db8:0001:0000:0000:0000:0000:0001/128'.replace('2001:0db8:0001', 'fd00:0000:0001')]);
    for (const a of ['2001:db8::1', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:0DB8:0:0:0:0:0:1', 'fd00:0:1::1']) assert.equal(list.allows(a), true, a);
    for (const a of ['2001:db9::', '2001:db7:ffff::1', 'fd00:0:1::2', '10.0.0.1', '::1']) assert.equal(list.allows(a), false, a);
    assert.equal(new AllowList(['::/0']).allows('::1'), true);
  });

  it('an IPv4-mapped client address matches IPv4 entries, and a mapped entry matches IPv4 clients', () => {
    assert.equal(new AllowList(['10.0.0.0/8']).allows('::ffff:10.9.9.9'), true);
    assert.equal(new AllowList(['::ffff:10.0.0.0/104']).allows('10.9.9.9'), true);
    assert.equal(new AllowList(['::ffff:10.0.0.0/104']).allows('11.9.9.9'), false);
  });

  it('an address that cannot be parsed is outside every list, even 0.0.0.0/0 and ::/0', () => {
    const list = new AllowList(['0.0.0.0/0', '::/0']);
    for (const a of [null, undefined, '', 'garbage', '10.1', '0x0a.0.0.1', '010.0.0.1', '10.0.0.256', '1.2.3.4.5', '2001:db8:::1', `1${'0'.repeat(80)}`, '10.0.0.1, 10.0.0.2']) {
      assert.equal(list.allows(a), false, String(a));
    }
  });

  it('entries: what is refused and why', () => {
    for (const ok of ['10.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '192.0.2.1/32', '::1', '::/0', '2001:db8::/32', '2001:db8::1/128', '::ffff:10.0.0.0/104']) {
      assert.equal(allowEntryProblem(ok), null, ok);
    }
    for (const bad of ['10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/', '10.0.0.0/8/8', '10.1', '0x0a.0.0.1', '256.0.0.1', '10.0.0.0/ 8', 'localhost', '', '2001:db8::/129', '2001:db8:::/32', '2001:db8::g/32', '2001:db8::/+3', 'fe80::1%eth0', '12345::/16', '1:2:3:4:5:6:7:8:9/64']) {
      assert.notEqual(allowEntryProblem(bad), null, bad);
    }
  });

  it('entries are stored in one spelling', () => {
    assert.equal(normalizeAllowEntry('2001:0DB8:0000::/32'), '2001:db8::/32');
    assert.equal(normalizeAllowEntry('10.0.0.1'), '10.0.0.1');
  });
});
