import type { Command } from '../types.js';
import { configCheckCommand, configKeysCommand } from './config.js';
import { haddnsCommands } from './haddns.js';
import { importCommands } from './import.js';
import { startCommand } from './start.js';
import { tokenCommands } from './token.js';

/**
 * Every `ghostdns` command. `help` is built in (cli.ts). Later issues add
 * entries here: haddns, token, import.
 */
export const commands: readonly Command[] = [startCommand, configCheckCommand, configKeysCommand, ...importCommands, ...haddnsCommands(), ...tokenCommands()];
