import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freeUdpAndTcpPort, startProcess, type ManagedProcess } from './journeys.js';
import { waitFor } from './wait.js';

const execFileAsync = promisify(execFile);

export interface Named {
  process: ManagedProcess;
  port: number;
}

export interface NamedOptions {
  /** Working directory: named.conf, zone files, logs. */
  dir: string;
  /** named.conf text after the options block: zones, `logging { ... }`, etc. */
  config: string;
  /** Extra statements inside `options { }` (dnstap, recursion, ...). */
  options?: string;
}

/**
 * Debian's named in the foreground on a free 127.0.0.1 port (UDP and TCP),
 * everything in `dir`, no rndc channel, no pid file. Resolves once it answers
 * `version.bind CH TXT`.
 */
export async function startNamed({ dir, config, options = '' }: NamedOptions): Promise<Named> {
  const port = await freeUdpAndTcpPort();
  const conf = path.join(dir, 'named.conf');
  writeFileSync(
    conf,
    `options {
  directory "${dir}";
  pid-file none;
  session-keyfile none;
  managed-keys-directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  notify no;
  dnssec-validation no;
  allow-transfer { 127.0.0.1; };
${options}
};
controls { };
${config}
`,
  );
  const process = startProcess('named', 'named', ['-g', '-c', conf, '-u', 'root'], {});
  const answers = async (): Promise<boolean> => {
    const { stdout } = await execFileAsync('dig', ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', '+short', 'version.bind', 'TXT', 'CH']).catch(
      () => ({ stdout: '' }),
    );
    return stdout.length > 0;
  };
  await waitFor(async () => process.child.exitCode === null && (await answers()), {
    description: `named on 127.0.0.1:${port}`,
    timeoutMs: 20_000,
  }).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${process.output()}`);
  });
  return { process, port };
}
