import { ConfigError, loadConfig, type GhostConfig } from '@ghostdns/config';
import { ExitCode, type CommandContext, type OptionSpecs } from '../types.js';

/** Options every command accepts. */
export const globalOptions: OptionSpecs = {
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
};

export function stringOption(ctx: CommandContext, name: string): string | undefined {
  const value = ctx.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** loadConfig with --config; on ConfigError prints its listing and returns the exit code instead. */
export function loadConfigOrReport(ctx: CommandContext): GhostConfig | number {
  const argvPath = stringOption(ctx, 'config');
  try {
    return loadConfig(argvPath === undefined ? { env: ctx.io.env } : { env: ctx.io.env, argvPath });
  } catch (error) {
    if (error instanceof ConfigError) {
      ctx.io.stderr(`${error.message}\n`);
      return ExitCode.config;
    }
    throw error;
  }
}
