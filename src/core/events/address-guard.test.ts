import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { AddressGuard, MAX_URL_LENGTH } from './address-guard.ts';

describe('AddressGuard', () => {
  const guard = new AddressGuard([]);

  it('refuses every address only tokend could reach', () => {
    for (const address of [
      '127.0.0.1', '127.8.9.10', '::1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254',
      '100.64.0.1', '0.0.0.0', '::', '255.255.255.255', '224.0.0.1', 'ff02::1', 'fe80::1', 'fd00::1', 'fc00::1',
      // IPv4 inside IPv6: mapped, NAT64, 6to4; each could reach a private IPv4 address.
      '::ffff:127.0.0.1', '::ffff:10.0.0.1', '64:ff9b::a00:1', '2002:a00:1::1',
    ]) {
      assert.notEqual(guard.refusal(address), null, address);
    }
  });

  it('lets public addresses through', () => {
    for (const address of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:93.184.215.14']) assert.equal(guard.refusal(address), null, address);
  });

  it('lets the ranges the operator allows through, and only those', () => {
    const allowing = new AddressGuard(['10.20.0.0/16', '127.0.0.1', 'fd00::/8']);
    assert.equal(allowing.refusal('10.20.3.4'), null);
    assert.equal(allowing.refusal('127.0.0.1'), null);
    assert.equal(allowing.refusal('fd12::1'), null);
    assert.notEqual(allowing.refusal('10.21.0.1'), null);
    assert.notEqual(allowing.refusal('127.0.0.2'), null);
    assert.throws(() => new AddressGuard(['10.0.0.0/33']), /not an IP address or a CIDR range/);
  });

  it('judges URLs: scheme, length, credentials, and hosts that are addresses however they are spelled', () => {
    assert.equal(guard.urlProblem('https://hooks.example.com/tokend'), null);
    assert.match(guard.urlProblem('ftp://example.com/') ?? '', /http or https/);
    assert.match(guard.urlProblem('https://u:p@example.com/') ?? '', /credentials/);
    assert.match(guard.urlProblem(`https://example.com/${'a'.repeat(MAX_URL_LENGTH)}`) ?? '', /2048/);
    assert.match(guard.urlProblem('nope') ?? '', /not a URL/);
    // The URL parser spells these as 127.0.0.1: refused like it.
    for (const url of ['http://2130706433/', 'http://0x7f.1/', 'http://127.1/', 'http://[::1]/', 'http://localhost:8080/', 'http://LOCALHOST./', 'http://api.localhost/']) {
      assert.notEqual(guard.urlProblem(url), null, url);
    }
  });
});
