import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '@ghostdns/config';
import type { GhostConfigInput } from '@ghostdns/config';
import { PresenceConfigValidator, presenceConfigIssues, presenceEnabled } from '../src/config-validator.js';

const presence = (p: GhostConfigInput['presence']) => parseConfig({ presence: p }).presence;
const validator = new PresenceConfigValidator();

describe('PresenceConfigValidator: accepted', () => {
  it.each([
    { name: 'defaults (presence off)', input: {} },
    { name: 'one interface', input: { wireguardInterfaces: ['wg0'] } },
    { name: 'several interfaces', input: { wireguardInterfaces: ['wg0', 'wg-office', 'tun_1', 'a=b+c.d'] } },
    { name: '15-character name', input: { wireguardInterfaces: ['abcdefghijklmno'] } },
    { name: 'all', input: { wireguardInterfaces: ['all'] } },
    { name: 'single-label suffix', input: { suffix: 'lan' } },
    { name: 'deep suffix', input: { suffix: 'peers.vpn.example-corp.com' } },
    { name: '63-char label', input: { suffix: `${'a'.repeat(63)}.local` } },
    { name: 'fractional interval below threshold', input: { pollInterval: 0.5, handshakeThreshold: 1 } },
    { name: 'tailscale cli', input: { tailscaleSource: 'cli' as const } },
    { name: 'tailscale api with a key', input: { tailscaleSource: 'api' as const, tailscaleApiKey: 'tskey-api-x' } },
    { name: 'tailscale api with an OAuth client', input: { tailscaleSource: 'api' as const, tailscaleOAuthClientId: 'k1', tailscaleOAuthClientSecret: 'tskey-client-x', tailscaleTailnet: 'example.com' } },
  ])('$name', ({ input }) => {
    expect(presenceConfigIssues(presence(input))).toEqual([]);
    expect(() => validator.validate(presence(input))).not.toThrow();
  });

  it('returns frozen settings in milliseconds', () => {
    const settings = validator.validate(
      presence({ wireguardInterfaces: ['wg0'], suffix: 'vpn.local', pollInterval: 5, handshakeThreshold: 300, interfaceThresholds: ['wg-road=60', 'wg1=0.5e3'] }),
    );
    expect(settings).toEqual({
      interfaces: ['wg0'],
      watchAll: false,
      suffix: 'vpn.local',
      pollIntervalMs: 5000,
      handshakeThresholdMs: 300_000,
      interfaceThresholdsMs: { 'wg-road': 60_000, wg1: 500_000 },
      wireguardConfigDir: '/etc/wireguard',
      tailscale: null,
    });
    expect(Object.isFrozen(settings)).toBe(true);
    expect(validator.validate(presence({ wireguardInterfaces: ['all'] })).watchAll).toBe(true);
  });
});

describe('PresenceConfigValidator: rejected, naming the key', () => {
  it.each([
    { name: 'interface too long', input: { wireguardInterfaces: ['abcdefghijklmnop'] }, env: 'GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES', text: /not a valid interface name/ },
    { name: 'slash in interface', input: { wireguardInterfaces: ['wg0/1'] }, env: 'GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES', text: /"wg0\/1"/ },
    { name: 'space in interface', input: { wireguardInterfaces: ['wg 0'] }, env: 'GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES', text: /not a valid interface name/ },
    { name: 'colon in interface', input: { wireguardInterfaces: ['wg0:1'] }, env: 'GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES', text: /not a valid interface name/ },
    { name: 'dot', input: { wireguardInterfaces: ['.'] }, env: 'GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES', text: /not a valid interface name/ },
    { name: 'dot-dot', input: { wireguardInterfaces: ['..'] }, env: 'GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES', text: /not a valid interface name/ },
    { name: 'all mixed with names', input: { wireguardInterfaces: ['all', 'wg0'] }, env: 'GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES', text: /"all" must be the only entry/ },
    { name: 'duplicate interface', input: { wireguardInterfaces: ['wg0', 'wg0'] }, env: 'GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES', text: /listed twice/ },
    { name: 'suffix with trailing dot', input: { suffix: 'vpn.local.' }, env: 'GHOSTDNS_PRESENCE_SUFFIX', text: /empty label/ },
    { name: 'suffix with leading dot', input: { suffix: '.vpn.local' }, env: 'GHOSTDNS_PRESENCE_SUFFIX', text: /empty label/ },
    { name: 'suffix with double dot', input: { suffix: 'vpn..local' }, env: 'GHOSTDNS_PRESENCE_SUFFIX', text: /empty label/ },
    { name: 'suffix upper-case', input: { suffix: 'VPN.local' }, env: 'GHOSTDNS_PRESENCE_SUFFIX', text: /lower-case/ },
    { name: 'suffix underscore', input: { suffix: 'my_vpn.local' }, env: 'GHOSTDNS_PRESENCE_SUFFIX', text: /invalid label "my_vpn"/ },
    { name: 'suffix label starts with hyphen', input: { suffix: '-vpn.local' }, env: 'GHOSTDNS_PRESENCE_SUFFIX', text: /invalid label/ },
    { name: 'suffix label ends with hyphen', input: { suffix: 'vpn-.local' }, env: 'GHOSTDNS_PRESENCE_SUFFIX', text: /invalid label/ },
    { name: 'suffix label of 64', input: { suffix: `${'a'.repeat(64)}.local` }, env: 'GHOSTDNS_PRESENCE_SUFFIX', text: /invalid label/ },
    { name: 'suffix too long', input: { suffix: Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.') }, env: 'GHOSTDNS_PRESENCE_SUFFIX', text: /longer than 253/ },
    { name: 'suffix with space', input: { suffix: 'vpn local' }, env: 'GHOSTDNS_PRESENCE_SUFFIX', text: /invalid label/ },
    { name: 'suffix numeric TLD', input: { suffix: '10.0.0.1' }, env: 'GHOSTDNS_PRESENCE_SUFFIX', text: /all-numeric/ },
    { name: 'interval equal to threshold', input: { pollInterval: 300, handshakeThreshold: 300 }, env: 'GHOSTDNS_PRESENCE_POLL_INTERVAL', text: /less than presence.handshakeThreshold .*300 >= 300/ },
    { name: 'interface threshold without =', input: { interfaceThresholds: ['wg0'] }, env: 'GHOSTDNS_PRESENCE_INTERFACE_THRESHOLDS', text: /not interface=seconds/ },
    { name: 'interface threshold bad name', input: { interfaceThresholds: ['wg/0=60'] }, env: 'GHOSTDNS_PRESENCE_INTERFACE_THRESHOLDS', text: /valid interface name/ },
    { name: 'interface threshold not a number', input: { interfaceThresholds: ['wg0=soon'] }, env: 'GHOSTDNS_PRESENCE_INTERFACE_THRESHOLDS', text: /seconds must be a number/ },
    { name: 'interface threshold below poll interval', input: { pollInterval: 5, interfaceThresholds: ['wg0=5'] }, env: 'GHOSTDNS_PRESENCE_INTERFACE_THRESHOLDS', text: /more than presence.pollInterval/ },
    { name: 'interface threshold twice', input: { interfaceThresholds: ['wg0=60', 'wg0=90'] }, env: 'GHOSTDNS_PRESENCE_INTERFACE_THRESHOLDS', text: /listed twice/ },
    { name: 'tailscale api without credentials', input: { tailscaleSource: 'api' as const }, env: 'GHOSTDNS_PRESENCE_TAILSCALE_API_KEY', text: /needs an API key or an OAuth client/ },
    { name: 'tailscale key and OAuth client', input: { tailscaleSource: 'api' as const, tailscaleApiKey: 'k', tailscaleOAuthClientId: 'c' }, env: 'GHOSTDNS_PRESENCE_TAILSCALE_API_KEY', text: /not both/ },
    { name: 'tailscale OAuth id without secret', input: { tailscaleSource: 'api' as const, tailscaleOAuthClientId: 'c' }, env: 'GHOSTDNS_PRESENCE_TAILSCALE_OAUTH_CLIENT_SECRET', text: /is required/ },
    { name: 'tailscale API URL not http', input: { tailscaleSource: 'api' as const, tailscaleApiKey: 'k', tailscaleApiUrl: 'ftp://example.com' }, env: 'GHOSTDNS_PRESENCE_TAILSCALE_API_URL', text: /not an http/ },
    { name: 'tailscale tailnet with a slash', input: { tailscaleSource: 'api' as const, tailscaleApiKey: 'k', tailscaleTailnet: 'a/b' }, env: 'GHOSTDNS_PRESENCE_TAILSCALE_TAILNET', text: /not a tailnet name/ },
    { name: 'interval above threshold', input: { pollInterval: 600, handshakeThreshold: 60 }, env: 'GHOSTDNS_PRESENCE_POLL_INTERVAL', text: /GHOSTDNS_PRESENCE_HANDSHAKE_THRESHOLD/ },
  ])('$name -> $env', ({ input, env, text }) => {
    let caught: unknown;
    try {
      validator.validate(presence(input));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.code).toBe('GHOSTDNS_CONFIG_INVALID');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.source).toEqual({ kind: 'env', name: env });
    expect(error.issues[0]?.message).toMatch(text);
    expect(error.message).toContain(env);
  });

  it('turns presence on for Tailscale alone, with its settings', () => {
    const settings = validator.validate(presence({ tailscaleSource: 'api', tailscaleApiKey: 'tskey-api-x' }));
    expect(settings.tailscale).toEqual({ kind: 'api', apiUrl: 'https://api.tailscale.com', tailnet: '-', credentials: { kind: 'api-key', apiKey: 'tskey-api-x' } });
    expect(presenceEnabled(settings)).toBe(true);
    expect(presenceEnabled(validator.validate(presence({})))).toBe(false);
  });

  it('reports every bad key at once', () => {
    const issues = presenceConfigIssues(
      presence({ wireguardInterfaces: ['bad/name'], suffix: 'Bad', pollInterval: 10, handshakeThreshold: 5 }),
    );
    expect(issues.map((i) => i.key)).toEqual(['presence.wireguardInterfaces', 'presence.suffix', 'presence.pollInterval']);
  });
});
