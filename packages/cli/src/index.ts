export { runCli, commandHelp, generalHelp } from './cli.js';
export { commands } from './commands/index.js';
export { globalOptions, loadConfigOrReport } from './commands/shared.js';
export { ExitCode, type CliIo, type Command, type CommandContext, type OptionSpecs, type OptionValues } from './types.js';
