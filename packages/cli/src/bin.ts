#!/usr/bin/env node
import { runCli } from './cli.js';
import type { CliIo } from './types.js';

const io: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
};

try {
  const code = await runCli(process.argv.slice(2), io);
  process.exit(code);
} catch (error) {
  process.stderr.write(`ghostdns: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
