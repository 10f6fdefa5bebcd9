import type { ParseArgsConfig } from 'node:util';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Where a command writes and what it reads; bin.ts wires the process, tests wire buffers. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface CommandContext {
  io: CliIo;
  /** Parsed options (global + the command's own). */
  values: OptionValues;
  /** Positional arguments after the command words. */
  args: string[];
}

/**
 * One CLI command. Commands live in a table (commands/index.ts); add a file and
 * a table entry for a new one (haddns, token, import, ...).
 */
export interface Command {
  /** Command words: ['start'], ['config', 'check']. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Usage line after `ghostdns <path>`, e.g. `[--config FILE] [--format yaml|json]`. */
  readonly usage?: string;
  /** Longer help text. */
  readonly details?: string;
  readonly options?: OptionSpecs;
  /** Whether positional arguments are accepted. Default false. */
  readonly allowArgs?: boolean;
  /** Resolves with the exit code. */
  run(ctx: CommandContext): Promise<number>;
}

/** Exit codes. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  /** Invalid configuration (ConfigError). */
  config: 2,
  /** Bad command line. */
  usage: 64,
} as const;
