import { parseArgs } from 'node:util';
import { commands as defaultCommands } from './commands/index.js';
import { globalOptions } from './commands/shared.js';
import { ExitCode, type CliIo, type Command, type OptionSpecs } from './types.js';

function commandName(command: Command): string {
  return command.path.join(' ');
}

/** Longest command whose words prefix argv. */
function findCommand(argv: readonly string[], table: readonly Command[]): Command | undefined {
  let best: Command | undefined;
  for (const command of table) {
    if (command.path.every((word, i) => argv[i] === word) && command.path.length > (best?.path.length ?? 0)) {
      best = command;
    }
  }
  return best;
}

function optionHelp(options: OptionSpecs | undefined): string {
  return Object.entries({ ...options, ...globalOptions })
    .map(([name, spec]) => `  --${name}${spec.short !== undefined ? `, -${spec.short}` : ''}${spec.type === 'string' ? ' VALUE' : ''}`)
    .join('\n');
}

export function commandHelp(command: Command): string {
  const lines = [`usage: ghostdns ${commandName(command)}${command.usage !== undefined ? ` ${command.usage}` : ''}`, '', command.summary];
  if (command.details !== undefined) lines.push('', command.details);
  lines.push('', 'options:', optionHelp(command.options), '');
  return lines.join('\n');
}

export function generalHelp(table: readonly Command[]): string {
  const width = Math.max(...table.map((c) => commandName(c).length), 'help [COMMAND]'.length);
  const rows = table.map((c) => `  ${commandName(c).padEnd(width)}  ${c.summary}`);
  rows.push(`  ${'help [COMMAND]'.padEnd(width)}  Show help for all commands or one`);
  return [
    'usage: ghostdns <command> [options]',
    '',
    'commands:',
    ...rows,
    '',
    'Every command accepts --config FILE (else GHOSTDNS_CONFIG) and --help.',
    'Configuration keys: `ghostdns config keys`. Exit codes: 0 ok, 1 failure, 2 invalid config, 64 bad usage.',
    '',
  ].join('\n');
}

function helpCommand(args: readonly string[], io: CliIo, table: readonly Command[]): number {
  if (args.length === 0) {
    io.stdout(generalHelp(table));
    return ExitCode.ok;
  }
  const command = findCommand(args, table);
  if (command === undefined || command.path.length !== args.length) {
    io.stderr(`unknown command '${args.join(' ')}'\n\n${generalHelp(table)}`);
    return ExitCode.usage;
  }
  io.stdout(commandHelp(command));
  return ExitCode.ok;
}

/** Runs the CLI and resolves with the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo, table: readonly Command[] = defaultCommands): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    return helpCommand(first === undefined ? [] : argv.slice(1), io, table);
  }
  const command = findCommand(argv, table);
  if (command === undefined) {
    const group = table.filter((c) => c.path[0] === first);
    const hint = group.length > 0 ? `'${first}' needs a subcommand: ${group.map(commandName).join(', ')}` : `unknown command '${first}'`;
    io.stderr(`ghostdns: ${hint}\n\n${generalHelp(table)}`);
    return ExitCode.usage;
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv.slice(command.path.length),
      options: { ...command.options, ...globalOptions },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    io.stderr(`ghostdns ${commandName(command)}: ${error instanceof Error ? error.message : String(error)}\n\n${commandHelp(command)}`);
    return ExitCode.usage;
  }
  if (parsed.values.help === true) {
    io.stdout(commandHelp(command));
    return ExitCode.ok;
  }
  if (parsed.positionals.length > 0 && command.allowArgs !== true) {
    io.stderr(`ghostdns ${commandName(command)}: unexpected argument '${parsed.positionals[0]}'\n\n${commandHelp(command)}`);
    return ExitCode.usage;
  }
  return command.run({ io, values: parsed.values, args: parsed.positionals });
}
