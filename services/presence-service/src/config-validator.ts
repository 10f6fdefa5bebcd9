import { ConfigError, envNameFor } from '@ghostdns/config';
import type { ConfigIssue, GhostConfig } from '@ghostdns/config';

export type PresenceConfig = GhostConfig['presence'];

/** Linux interface names: 1-15 of these characters (IFNAMSIZ - 1), never "." or "..". */
const INTERFACE_NAME = /^[a-zA-Z0-9_=+.-]{1,15}$/;
/** One DNS label (LDH rule, RFC 1123 §2.1), lower-case: suffixes compare against lower-case qnames. */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The validated presence settings the service runs with. */
export interface PresenceSettings {
  /** Interfaces to watch; empty means presence is off; ['all'] means every WireGuard interface. */
  readonly interfaces: readonly string[];
  readonly watchAll: boolean;
  readonly suffix: string;
  readonly pollIntervalMs: number;
  readonly handshakeThresholdMs: number;
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

function suffixProblem(suffix: string): string | null {
  if (suffix.length > 253) return 'is longer than 253 characters';
  if (suffix !== suffix.toLowerCase()) return `"${suffix}" must be lower-case`;
  const labels = suffix.split('.');
  for (const label of labels) {
    if (label === '') return `"${suffix}" has an empty label (no leading, trailing or double dots)`;
    if (!DNS_LABEL.test(label)) {
      return `"${suffix}" has an invalid label "${label}" (1-63 of a-z 0-9 -, not starting or ending with -)`;
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return `"${suffix}" ends in an all-numeric label`;
  return null;
}

/** Every problem with config.presence; empty when it is usable. */
export function presenceConfigIssues(presence: PresenceConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ifaceProblem = interfaceProblems(presence.wireguardInterfaces);
  if (ifaceProblem !== null) issues.push(issue('wireguardInterfaces', ifaceProblem));
  const suffix = suffixProblem(presence.suffix);
  if (suffix !== null) issues.push(issue('suffix', suffix));
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
    return Object.freeze({
      interfaces: Object.freeze([...presence.wireguardInterfaces]),
      watchAll,
      suffix: presence.suffix,
      pollIntervalMs: Math.round(presence.pollInterval * 1000),
      handshakeThresholdMs: Math.round(presence.handshakeThreshold * 1000),
    });
  }
}
