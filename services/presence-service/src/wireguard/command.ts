import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PresenceError } from '../errors.js';

/** The I/O seam in front of `wg`: tests hand the source canned dumps. */
export interface WgDumpReader {
  /** The text of `wg show all dump`; rejects with GHOSTDNS_PRESENCE_WG_FAILED when it cannot be read. */
  read(): Promise<string>;
}

export interface WgCommandOptions {
  /** The wg binary. Default "wg" from PATH. */
  readonly binary?: string;
  /** Kill `wg` after this long. Default 10 000 ms. */
  readonly timeoutMs?: number;
}

/**
 * Runs `wg show all dump`: one call lists every interface (kernel and userspace,
 * the latter through the sockets in /var/run/wireguard), and no configuration
 * string ever reaches the command line.
 */
export function wgShowAllDump(options: WgCommandOptions = {}): WgDumpReader {
  const binary = options.binary ?? 'wg';
  const timeout = options.timeoutMs ?? 10_000;
  return {
    read: () =>
      new Promise<string>((resolve, reject) => {
        execFile(binary, ['show', 'all', 'dump'], { timeout, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
          if (err) {
            const detail = stderr.trim() || err.message;
            reject(new PresenceError('GHOSTDNS_PRESENCE_WG_FAILED', `${binary} show all dump failed: ${detail}`, { cause: err }));
          } else {
            resolve(stdout);
          }
        });
      }),
  };
}

/** The I/O seam in front of the wg-quick configs. */
export interface WgQuickConfigReader {
  /** The text of `<interface>.conf`, or null when there is none or it is unreadable. */
  read(interfaceName: string): Promise<string | null>;
}

/**
 * Reads `<dir>/<interface>.conf`. Interface names come from the dump and were
 * checked against the kernel's character set, so they cannot leave `dir`.
 */
export function wgQuickConfigDir(dir: string): WgQuickConfigReader {
  return {
    read: async (interfaceName) => {
      try {
        return await readFile(path.join(dir, `${interfaceName}.conf`), 'utf8');
      } catch {
        // Names from comments are a convenience: without the file, names fall back to tunnel addresses.
        return null;
      }
    },
  };
}
