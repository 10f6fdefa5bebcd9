import { ConfigError, envNameFor } from '@ghostdns/config';
import type { ConfigIssue, GhostConfig } from '@ghostdns/config';
import { dnsNameProblem } from './names.js';
import type { TailscaleCredentials } from './tailscale/readers.js';
import { INTERFACE_NAME } from './wireguard/dump.js';

export type PresenceConfig = GhostConfig['presence'];

/** RFC 1035 §3.1's limit on a name in text form. */
const MAX_DNS_NAME = 253;

/** The validated presence settings the service runs with. */
export interface PresenceSettings {
  /** Interfaces to watch; empty means presence is off; ['all'] means every WireGuard interface. */
  readonly interfaces: readonly string[];
  readonly watchAll: boolean;
  readonly suffix: string;
  readonly pollIntervalMs: number;
  readonly handshakeThresholdMs: number;
  /** Per-interface thresholds overriding handshakeThresholdMs (presence.interfaceThresholds). */
  readonly interfaceThresholdsMs: Readonly<Record<string, number>>;
  /** Where the wg-quick configs are (`<dir>/<interface>.conf`). */
  readonly wireguardConfigDir: string;
  /** The Tailscale source; null when presence.tailscaleSource is off. */
  readonly tailscale: TailscaleSettings | null;
}

export type TailscaleSettings =
  | { readonly kind: 'cli' }
  | { readonly kind: 'api'; readonly apiUrl: string; readonly tailnet: string; readonly credentials: TailscaleCredentials };

/** The API credentials the config gives, or the problem with them. */
function tailscaleCredentials(presence: PresenceConfig): TailscaleCredentials | ConfigIssue {
  const { tailscaleApiKey: apiKey, tailscaleOAuthClientId: clientId, tailscaleOAuthClientSecret: clientSecret } = presence;
  if (apiKey !== undefined && (clientId !== undefined || clientSecret !== undefined)) {
    return issue('tailscaleApiKey', 'set either an API key or an OAuth client (id and secret), not both');
  }
  if (apiKey !== undefined) return { kind: 'api-key', apiKey };
  if (clientId !== undefined && clientSecret !== undefined) return { kind: 'oauth', clientId, clientSecret };
  if (clientId !== undefined) return issue('tailscaleOAuthClientSecret', 'is required with presence.tailscaleOAuthClientId');
  if (clientSecret !== undefined) return issue('tailscaleOAuthClientId', 'is required with presence.tailscaleOAuthClientSecret');
  return issue('tailscaleApiKey', 'presence.tailscaleSource=api needs an API key or an OAuth client (id and secret)');
}

function tailscaleSettings(presence: PresenceConfig): TailscaleSettings | null | ConfigIssue {
  switch (presence.tailscaleSource) {
    case 'off':
      return null;
    case 'cli':
      return { kind: 'cli' };
    case 'api': {
      const url = new URL(presence.tailscaleApiUrl);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return issue('tailscaleApiUrl', `"${presence.tailscaleApiUrl}" is not an http(s) URL`);
      if (/[/?#\s]/.test(presence.tailscaleTailnet)) return issue('tailscaleTailnet', `"${presence.tailscaleTailnet}" is not a tailnet name`);
      const credentials = tailscaleCredentials(presence);
      if ('key' in credentials) return credentials;
      return { kind: 'api', apiUrl: presence.tailscaleApiUrl, tailnet: presence.tailscaleTailnet, credentials };
    }
  }
}

function issue(field: keyof PresenceConfig, message: string): ConfigIssue {
  const env = envNameFor('presence', field);
  return { key: `presence.${field}`, source: { kind: 'env', name: env }, message };
}

function interfaceProblems(interfaces: readonly string[]): string | null {
  if (interfaces.length === 0) return null;
  if (interfaces.includes('all')) {
    return interfaces.length === 1 ? null : `"all" must be the only entry (got ${interfaces.join(',')})`;
  }
  const seen = new Set<string>();
  for (const name of interfaces) {
    if (!INTERFACE_NAME.test(name) || name === '.' || name === '..') {
      return `"${name}" is not a valid interface name (1-15 of a-z A-Z 0-9 _ = + . -)`;
    }
    if (seen.has(name)) return `"${name}" is listed twice`;
    seen.add(name);
  }
  return null;
}

/** `interface=seconds` entries as interface -> seconds, or the first problem. */
function parseInterfaceThresholds(entries: readonly string[], pollInterval: number): Record<string, number> | string {
  const thresholds: Record<string, number> = {};
  for (const entry of entries) {
    const eq = entry.lastIndexOf('=');
    const name = entry.slice(0, eq).trim();
    const seconds = Number(entry.slice(eq + 1).trim());
    if (eq <= 0 || interfaceProblems([name]) !== null) return `"${entry}" is not interface=seconds with a valid interface name`;
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) return `"${entry}": seconds must be a number in (0, 86400]`;
    if (!(pollInterval < seconds)) return `"${entry}": the threshold must be more than presence.pollInterval (${pollInterval})`;
    if (name in thresholds) return `"${name}" is listed twice`;
    thresholds[name] = seconds;
  }
  return thresholds;
}

/** Whether the settings turn any source on (WireGuard interfaces or Tailscale). */
export function presenceEnabled(settings: PresenceSettings): boolean {
  return settings.interfaces.length > 0 || settings.tailscale !== null;
}

/** Every problem with config.presence; empty when it is usable. */
export function presenceConfigIssues(presence: PresenceConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ifaceProblem = interfaceProblems(presence.wireguardInterfaces);
  if (ifaceProblem !== null) issues.push(issue('wireguardInterfaces', ifaceProblem));
  const thresholds = parseInterfaceThresholds(presence.interfaceThresholds, presence.pollInterval);
  if (typeof thresholds === 'string') issues.push(issue('interfaceThresholds', thresholds));
  const suffix = dnsNameProblem(presence.suffix, MAX_DNS_NAME);
  if (suffix !== null) issues.push(issue('suffix', suffix));
  const tailscale = tailscaleSettings(presence);
  if (tailscale !== null && 'key' in tailscale) issues.push(tailscale);
  if (!(presence.pollInterval < presence.handshakeThreshold)) {
    issues.push(
      issue(
        'pollInterval',
        `must be less than presence.handshakeThreshold (${envNameFor('presence', 'handshakeThreshold')}); ` +
          `got ${presence.pollInterval} >= ${presence.handshakeThreshold}`,
      ),
    );
  }
  return issues;
}

/**
 * Boot-time check of config.presence beyond what the schema can say. Names
 * fail closed: a config that could publish a wrong or ambiguous name stops the
 * service instead of starting it.
 */
export class PresenceConfigValidator {
  /** Returns the settings, or throws a ConfigError naming every bad key (GHOSTDNS_PRESENCE_...). */
  validate(presence: PresenceConfig): PresenceSettings {
    const issues = presenceConfigIssues(presence);
    if (issues.length > 0) throw new ConfigError(issues);
    const watchAll = presence.wireguardInterfaces.length === 1 && presence.wireguardInterfaces[0] === 'all';
    const thresholds = parseInterfaceThresholds(presence.interfaceThresholds, presence.pollInterval);
    const interfaceThresholdsMs: Record<string, number> = {};
    if (typeof thresholds !== 'string') {
      for (const [name, seconds] of Object.entries(thresholds)) interfaceThresholdsMs[name] = Math.round(seconds * 1000);
    }
    const tailscale = tailscaleSettings(presence);
    return Object.freeze({
      interfaces: Object.freeze([...presence.wireguardInterfaces]),
      watchAll,
      suffix: presence.suffix,
      pollIntervalMs: Math.round(presence.pollInterval * 1000),
      handshakeThresholdMs: Math.round(presence.handshakeThreshold * 1000),
      interfaceThresholdsMs: Object.freeze(interfaceThresholdsMs),
      wireguardConfigDir: presence.wireguardConfigDir,
      tailscale: tailscale === null || 'key' in tailscale ? null : Object.freeze(tailscale),
    });
  }
}
