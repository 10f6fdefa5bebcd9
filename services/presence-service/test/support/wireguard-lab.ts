// Real WireGuard for integration and e2e tests: Debian's wireguard-go and wg, two
// userspace interfaces in a network namespace of our own, handshaking over that
// namespace's loopback. `wg show all dump` in the root namespace lists both
// (wireguard-go's control sockets are in /var/run/wireguard whatever the namespace).
// Nothing leaves the namespace.
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir, startProcess, waitFor, type ManagedProcess } from '@ghostdns/testkit';

const BINARIES = ['wireguard-go', 'wg', 'ip'] as const;

/** Fails (never skips) when a binary is missing, like requireComponent(). */
export function requireWireGuardTools(): void {
  for (const binary of BINARIES) {
    const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
    if (found.status !== 0) {
      throw new Error(`${binary} is not installed: the WireGuard tests need Debian's wireguard-go, wireguard-tools and iproute2 (scripts/install-system-deps.sh)`);
    }
  }
}

function run(command: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { encoding: 'utf8', timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout.trim());
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

interface KeyPair {
  readonly privateKeyFile: string;
  readonly publicKey: string;
}

export interface WireGuardLab {
  /** The watched interface ("the server"). */
  readonly server: string;
  /** The peer's own interface ("the laptop"); gone while the client is stopped. */
  readonly client: string;
  readonly clientPublicKey: string;
  readonly clientAddress: string;
  /** Folder for wg-quick configs (`<server>.conf` is written by nameClient). */
  readonly configDir: string;
  /** Starts the client's wireguard-go, which handshakes with the server at once. */
  startClient(): Promise<void>;
  /** Stops the client's wireguard-go: its interface disappears, like a laptop leaving. */
  stopClient(): Promise<void>;
  /**
   * With `routeToHost`: the root namespace's end of a veth pair into the lab, routed to the
   * tunnel subnet, so a service listening there sees the client's own tunnel address (as a
   * resolver on a VPN server does); null without.
   */
  readonly hostAddress: string | null;
  /** Runs a command inside the lab's namespace (e.g. dig from the client's tunnel address); resolves its stdout. */
  runInNamespace(command: string, args: readonly string[]): Promise<string>;
  /** Writes `# Name = <name>` above the client's [Peer] in `<configDir>/<server>.conf`. */
  nameClient(name: string): void;
  close(): Promise<void>;
}

export interface WireGuardLabOptions {
  /** Persistent keepalive the server keeps for the client (the keepalive rule); null: off. */
  readonly serverKeepaliveSec: number | null;
  /** Persistent keepalive of the client towards the server. */
  readonly clientKeepaliveSec: number;
  /** Adds the veth pair behind `hostAddress` (root namespace routes change: one such lab at a time). */
  readonly routeToHost?: boolean;
}

export async function startWireGuardLab(options: WireGuardLabOptions): Promise<WireGuardLab> {
  requireWireGuardTools();
  const tag = randomBytes(3).toString('hex');
  const ns = `gdns-wg-${tag}`;
  const server = `gds${tag}`;
  const client = `gdc${tag}`;
  const dir = scratchDir();
  const processes = new Map<string, ManagedProcess>();
  const env = { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' };

  const keyPair = async (name: string): Promise<KeyPair> => {
    const privateKey = await run('wg', ['genkey']);
    const privateKeyFile = path.join(dir.dir, `${name}.key`);
    writeFileSync(privateKeyFile, `${privateKey}\n`, { mode: 0o600 });
    return { privateKeyFile, publicKey: await run('wg', ['pubkey'], `${privateKey}\n`) };
  };

  const startInterface = async (name: string, address: string): Promise<void> => {
    const process = startProcess(`wireguard-go ${name}`, 'ip', ['netns', 'exec', ns, 'wireguard-go', '-f', name], env);
    processes.set(name, process);
    await waitFor(
      () => {
        if (process.child.exitCode !== null) throw new Error(`wireguard-go ${name} exited: ${process.output()}`);
        return existsSync(`/var/run/wireguard/${name}.sock`);
      },
      { timeoutMs: 15_000, intervalMs: 50, description: `wireguard-go ${name} to create its socket` },
    );
    await run('ip', ['-n', ns, 'address', 'add', address, 'dev', name]);
    await run('ip', ['-n', ns, 'link', 'set', name, 'up']);
  };

  const stopInterface = async (name: string): Promise<void> => {
    await processes.get(name)?.stop('SIGTERM');
    processes.delete(name);
  };

  await run('ip', ['netns', 'add', ns]);
  try {
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const serverKeys = await keyPair('server');
    const clientKeys = await keyPair('client');
    await startInterface(server, '10.203.0.1/24');
    const keepalive = options.serverKeepaliveSec === null ? [] : ['persistent-keepalive', String(options.serverKeepaliveSec)];
    await run('wg', ['set', server, 'private-key', serverKeys.privateKeyFile, 'listen-port', '0', 'peer', clientKeys.publicKey, 'allowed-ips', '10.203.0.2/32,fd03::2/128', ...keepalive]);
    const serverPort = await run('wg', ['show', server, 'listen-port']);
    let hostAddress: string | null = null;
    if (options.routeToHost === true) {
      // The pair and the root route go with the namespace (deleting it deletes its veth end, and the peer with it).
      const hostEnd = `gdv${tag}`;
      await run('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', `gdn${tag}`, 'netns', ns]);
      await run('ip', ['address', 'add', '10.204.0.1/30', 'dev', hostEnd]);
      await run('ip', ['link', 'set', hostEnd, 'up']);
      await run('ip', ['-n', ns, 'address', 'add', '10.204.0.2/30', 'dev', `gdn${tag}`]);
      await run('ip', ['-n', ns, 'link', 'set', `gdn${tag}`, 'up']);
      await run('ip', ['route', 'add', '10.203.0.0/24', 'via', '10.204.0.2', 'dev', hostEnd]);
      hostAddress = '10.204.0.1';
    }

    const lab: WireGuardLab = {
      server,
      client,
      clientPublicKey: clientKeys.publicKey,
      clientAddress: '10.203.0.2',
      configDir: dir.dir,
      hostAddress,
      runInNamespace: (command, args) => run('ip', ['netns', 'exec', ns, command, ...args]),
      async startClient() {
        await startInterface(client, '10.203.0.2/24');
        await run('wg', [
          'set', client, 'private-key', clientKeys.privateKeyFile, 'listen-port', '0',
          'peer', serverKeys.publicKey, 'allowed-ips', '10.203.0.1/32', 'endpoint', `127.0.0.1:${serverPort}`,
          'persistent-keepalive', String(options.clientKeepaliveSec),
        ]);
      },
      stopClient: () => stopInterface(client),
      nameClient(name) {
        writeFileSync(path.join(dir.dir, `${server}.conf`), `[Interface]\nListenPort = ${serverPort}\n\n# Name = ${name}\n[Peer]\nPublicKey = ${clientKeys.publicKey}\nAllowedIPs = 10.203.0.2/32\n`);
      },
      async close() {
        await Promise.all([...processes.keys()].map(stopInterface));
        await run('ip', ['netns', 'del', ns]);
        dir.remove();
      },
    };
    return lab;
  } catch (err) {
    await Promise.all([...processes.keys()].map(stopInterface));
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    dir.remove();
    throw err;
  }
}
