import { describe, expect, it } from 'vitest';
import { peerNamesFromWgQuick } from '../src/wireguard/wg-quick.js';
import { KEY } from './wg-keys.js';

describe('peerNamesFromWgQuick', () => {
  it('takes the # Name = comment above each [Peer]', () => {
    const conf = [
      '[Interface]',
      '# Name = not-a-peer',
      'PrivateKey = oLbkXKXq2Zx8nLR7e0B+0pTqXoYz8o3kIi2mKuJ1p2s=',
      'Address = 10.8.0.1/24',
      '',
      '# Name = Alice Laptop',
      '[Peer]',
      `PublicKey = ${KEY.laptop}`,
      'AllowedIPs = 10.8.0.2/32',
      '',
      '#name=phone',
      '',
      '[ Peer ]',
      `publickey=${KEY.phone}`,
      '',
      '[Peer]',
      `PublicKey = ${KEY.office}`,
      '; Name = router',
      '[Peer]',
      `PublicKey = ${KEY.router}`,
    ].join('\r\n');
    expect(peerNamesFromWgQuick(conf)).toEqual(
      new Map([
        [KEY.laptop, 'Alice Laptop'],
        [KEY.phone, 'phone'],
        [KEY.router, 'router'],
      ]),
    );
  });

  it('an empty name or a file without comments names nobody', () => {
    expect(peerNamesFromWgQuick(`# Name =\n[Peer]\nPublicKey = ${KEY.laptop}\n`).size).toBe(0);
    expect(peerNamesFromWgQuick('').size).toBe(0);
  });
});
