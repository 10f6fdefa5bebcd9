import { describe, expect, it } from 'vitest';
import { parseWgDump } from '../src/wireguard/dump.js';
import { dumpLine, KEY } from './wg-keys.js';

const PRIVATE = 'oLbkXKXq2Zx8nLR7e0B+0pTqXoYz8o3kIi2mKuJ1p2s=';
const wg0 = dumpLine('wg0', PRIVATE, KEY.server, 51820, 'off');

describe('parseWgDump: valid dumps', () => {
  it.each([
    {
      name: 'a peer with every column set',
      line: dumpLine('wg0', KEY.laptop, KEY.phone, '203.0.113.7:41234', '10.8.0.2/32,fd00::2/128', 1_700_000_000, 5_120, 9_876, 25),
      peer: {
        interface: 'wg0', publicKey: KEY.laptop, hasPresharedKey: true, endpoint: '203.0.113.7:41234',
        allowedIps: ['10.8.0.2/32', 'fd00::2/128'], latestHandshakeSec: 1_700_000_000, rxBytes: 5_120, txBytes: 9_876, persistentKeepaliveSec: 25,
      },
    },
    {
      name: '(none) values, 0 handshake and keepalive off',
      line: dumpLine('wg0', KEY.laptop, '(none)', '(none)', '(none)', 0, 0, 0, 'off'),
      peer: {
        interface: 'wg0', publicKey: KEY.laptop, hasPresharedKey: false, endpoint: null,
        allowedIps: [], latestHandshakeSec: null, rxBytes: 0, txBytes: 0, persistentKeepaliveSec: null,
      },
    },
    {
      name: 'IPv6 endpoint and IPv6-only allowed ips',
      line: dumpLine('wg0', KEY.laptop, '(none)', '[2001:db8::7]:51820', 'fd00:8::2/128,fd00:9::/64', 1_700_000_100, 1, 2, 'off'),
      peer: {
        interface: 'wg0', publicKey: KEY.laptop, hasPresharedKey: false, endpoint: '[2001:db8::7]:51820',
        allowedIps: ['fd00:8::2/128', 'fd00:9::/64'], latestHandshakeSec: 1_700_000_100, rxBytes: 1, txBytes: 2, persistentKeepaliveSec: null,
      },
    },
  ])('$name', ({ line, peer }) => {
    const dump = parseWgDump(`${wg0}\n${line}\n`);
    expect(dump.malformed).toEqual([]);
    expect(dump.peers).toEqual([peer]);
  });

  it('interface lines: public key, listen port, fwmark; the private key is not kept', () => {
    const dump = parseWgDump([wg0, dumpLine('wg1', '(none)', '(none)', 0, '0xca6c')].join('\n'));
    expect(dump.interfaces).toEqual([
      { name: 'wg0', publicKey: KEY.server, listenPort: 51820, fwmark: null },
      { name: 'wg1', publicKey: null, listenPort: null, fwmark: 0xca6c },
    ]);
    expect(JSON.stringify(dump)).not.toContain(PRIVATE);
  });

  it('several interfaces, each with its peers, CRLF and blank lines tolerated', () => {
    const text = [
      wg0,
      dumpLine('wg0', KEY.laptop, '(none)', '(none)', '10.8.0.2/32', 0, 0, 0, 'off'),
      '',
      dumpLine('wg-office', PRIVATE, KEY.office, 51821, 'off'),
      dumpLine('wg-office', KEY.phone, '(none)', '198.51.100.2:9000', '10.9.0.5/32', 1_700_000_000, 10, 20, 'off'),
    ].join('\r\n');
    const dump = parseWgDump(text);
    expect(dump.interfaces.map((i) => i.name)).toEqual(['wg0', 'wg-office']);
    expect(dump.peers.map((p) => [p.interface, p.publicKey])).toEqual([
      ['wg0', KEY.laptop],
      ['wg-office', KEY.phone],
    ]);
    expect(dump.malformed).toEqual([]);
  });

  it('an empty dump (no interfaces) is no peers', () => {
    expect(parseWgDump('')).toEqual({ interfaces: [], peers: [], malformed: [] });
  });
});

describe('parseWgDump: malformed lines are skipped and reported', () => {
  const good = dumpLine('wg0', KEY.laptop, '(none)', '(none)', '10.8.0.2/32', 1_700_000_000, 1, 2, 'off');
  it.each([
    { name: 'wrong field count', line: dumpLine('wg0', KEY.phone, '(none)'), reason: /3 tab-separated fields/ },
    { name: 'spaces instead of tabs', line: `wg0 ${KEY.phone} (none) (none) 10.8.0.3/32 0 0 0 off`, reason: /1 tab-separated fields/ },
    { name: 'bad public key', line: dumpLine('wg0', 'not-a-key', '(none)', '(none)', '10.8.0.3/32', 0, 0, 0, 'off'), reason: /public-key is not a WireGuard key/ },
    { name: 'negative handshake', line: dumpLine('wg0', KEY.phone, '(none)', '(none)', '10.8.0.3/32', -5, 0, 0, 'off'), reason: /latest-handshake "-5"/ },
    { name: 'non-numeric rx', line: dumpLine('wg0', KEY.phone, '(none)', '(none)', '10.8.0.3/32', 0, 'lots', 0, 'off'), reason: /transfer-rx/ },
    { name: 'rx beyond 2^53', line: dumpLine('wg0', KEY.phone, '(none)', '(none)', '10.8.0.3/32', 0, '99999999999999999999', 0, 'off'), reason: /too large/ },
    { name: 'bad keepalive', line: dumpLine('wg0', KEY.phone, '(none)', '(none)', '10.8.0.3/32', 0, 0, 0, 'on'), reason: /persistent-keepalive/ },
    { name: 'bad allowed ip', line: dumpLine('wg0', KEY.phone, '(none)', '(none)', '10.8.0.3', 0, 0, 0, 'off'), reason: /allowed-ip "10.8.0.3"/ },
    { name: 'bad interface name', line: dumpLine('wg/0', KEY.phone, '(none)', '(none)', '10.8.0.3/32', 0, 0, 0, 'off'), reason: /not an interface name/ },
    { name: 'bad listen port', line: dumpLine('wg1', PRIVATE, KEY.office, 'port', 'off'), reason: /listen-port/ },
  ])('$name', ({ line, reason }) => {
    const dump = parseWgDump([wg0, line, good].join('\n'));
    expect(dump.peers.map((p) => p.publicKey)).toEqual([KEY.laptop]);
    expect(dump.malformed).toHaveLength(1);
    expect(dump.malformed[0]?.line).toBe(2);
    expect(dump.malformed[0]?.reason).toMatch(reason);
  });
});
