import { configKeysMarkdown, formatConfig, listConfigKeys } from '@ghostdns/config';
import { ExitCode, type Command, type CommandContext } from '../types.js';
import { loadConfigOrReport, stringOption } from './shared.js';

function formatOf(ctx: CommandContext): 'yaml' | 'json' | undefined {
  const format = stringOption(ctx, 'format') ?? 'yaml';
  if (format === 'yaml' || format === 'json') return format;
  ctx.io.stderr(`--format must be yaml or json, got ${JSON.stringify(format)}\n`);
  return undefined;
}

export const configCheckCommand: Command = {
  path: ['config', 'check'],
  summary: 'Validate the configuration and print the effective values (secrets masked)',
  usage: '[--config FILE] [--format yaml|json]',
  details:
    'Reads the YAML file (--config, else GHOSTDNS_CONFIG) and the environment exactly as `start` would.\n' +
    'Exit 0 with the effective configuration on stdout, or exit 2 with every problem on stderr.',
  options: { format: { type: 'string', short: 'f' } },
  async run(ctx) {
    const format = formatOf(ctx);
    if (format === undefined) return ExitCode.usage;
    const config = loadConfigOrReport(ctx);
    if (typeof config === 'number') return config;
    if (format === 'yaml') ctx.io.stdout('# effective GhostDNS configuration (secrets masked)\n');
    ctx.io.stdout(formatConfig(config, format));
    return ExitCode.ok;
  },
};

export const configKeysCommand: Command = {
  path: ['config', 'keys'],
  summary: 'List every configuration key with its environment variable, type and default',
  usage: '[--format text|json|markdown]',
  options: { format: { type: 'string', short: 'f' } },
  async run(ctx) {
    const format = stringOption(ctx, 'format') ?? 'text';
    const keys = listConfigKeys();
    if (format === 'json') {
      ctx.io.stdout(`${JSON.stringify(keys, null, 2)}\n`);
      return ExitCode.ok;
    }
    if (format === 'markdown') {
      ctx.io.stdout(`${configKeysMarkdown()}\n`);
      return ExitCode.ok;
    }
    if (format !== 'text') {
      ctx.io.stderr(`--format must be text, json or markdown, got ${JSON.stringify(format)}\n`);
      return ExitCode.usage;
    }
    for (const key of keys) {
      const env = key.alias === undefined ? key.env : `${key.env} (or ${key.alias})`;
      ctx.io.stdout(`${key.key}\n  env:     ${env}\n  type:    ${key.type}\n  default: ${key.default ?? '(unset)'}\n  ${key.description}\n`);
    }
    return ExitCode.ok;
  },
};
