// Parser of `wg show all dump` (wg(8), "dump" in the show command): tab-separated,
// every line prefixed by the interface name when "all" is given.
//   interface line (5 fields): interface, private-key, public-key, listen-port, fwmark
//   peer line (9 fields):      interface, public-key, preshared-key, endpoint, allowed-ips,
//                              latest-handshake, transfer-rx, transfer-tx, persistent-keepalive
// "(none)" stands for an unset key, endpoint or allowed-ips list; latest-handshake is
// seconds since the epoch, 0 meaning never; fwmark and persistent-keepalive print "off".

/** Linux interface names (IFNAMSIZ - 1 characters); also what makes `<dir>/<name>.conf` a safe path. */
export const INTERFACE_NAME = /^[a-zA-Z0-9_=+.-]{1,15}$/;
/** A Curve25519 key in WireGuard's base64 form: 32 bytes, 43 characters and one '='. */
const WG_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export interface WgInterfaceDump {
  readonly name: string;
  /** null while the interface has no private key. The private key itself is checked and dropped. */
  readonly publicKey: string | null;
  /** null when the interface listens on no port (0). */
  readonly listenPort: number | null;
  readonly fwmark: number | null;
}

export interface WgPeerDump {
  readonly interface: string;
  readonly publicKey: string;
  /** Whether a preshared key is set; the key itself is never kept. */
  readonly hasPresharedKey: boolean;
  /** `host:port` or `[v6]:port`, null before the peer was ever heard from and without a configured endpoint. */
  readonly endpoint: string | null;
  /** CIDRs as printed (10.8.0.2/32, fd00::2/128); empty for "(none)". */
  readonly allowedIps: readonly string[];
  /** Seconds since the epoch of the latest handshake; null when there was none (printed 0). */
  readonly latestHandshakeSec: number | null;
  readonly rxBytes: number;
  readonly txBytes: number;
  /** Persistent keepalive interval in seconds; null when "off". */
  readonly persistentKeepaliveSec: number | null;
}

export interface MalformedDumpLine {
  /** 1-based line number in the dump. */
  readonly line: number;
  readonly reason: string;
}

export interface WgDump {
  readonly interfaces: readonly WgInterfaceDump[];
  readonly peers: readonly WgPeerDump[];
  /** Lines that were skipped; the rest of the dump still counts. */
  readonly malformed: readonly MalformedDumpLine[];
}

class LineError extends Error {}

const unsigned = (field: string, what: string): number => {
  if (!/^[0-9]+$/.test(field)) throw new LineError(`${what} "${field}" is not a non-negative integer`);
  const value = Number(field);
  if (!Number.isSafeInteger(value)) throw new LineError(`${what} "${field}" is too large`);
  return value;
};

const offOrUnsigned = (field: string, what: string): number | null => (field === 'off' ? null : unsigned(field, what));

/** The fwmark prints as "off" or as hexadecimal 0x… (wg(8) show.c). */
const fwmark = (field: string): number | null => {
  if (field === 'off') return null;
  const value = /^0x[0-9a-f]+$/i.test(field) ? Number.parseInt(field.slice(2), 16) : unsigned(field, 'fwmark');
  if (!Number.isSafeInteger(value)) throw new LineError(`fwmark "${field}" is not a number`);
  return value;
};

const key = (field: string, what: string): string => {
  if (!WG_KEY.test(field)) throw new LineError(`${what} is not a WireGuard key`);
  return field;
};

const optionalKey = (field: string, what: string): string | null => (field === '(none)' ? null : key(field, what));

const interfaceName = (field: string): string => {
  if (!INTERFACE_NAME.test(field) || field === '.' || field === '..') throw new LineError(`"${field}" is not an interface name`);
  return field;
};

const allowedIps = (field: string): string[] => {
  if (field === '(none)') return [];
  const list = field.split(',').map((entry) => entry.trim());
  for (const cidr of list) {
    if (!/^[0-9a-fA-F.:]+\/[0-9]{1,3}$/.test(cidr)) throw new LineError(`allowed-ip "${cidr}" is not a CIDR`);
  }
  return list;
};

function parseInterfaceLine(fields: readonly string[]): WgInterfaceDump {
  const [name = '', privateKey = '', publicKey = '', listenPort = '', mark = ''] = fields;
  optionalKey(privateKey, 'private-key');
  const port = unsigned(listenPort, 'listen-port');
  return { name: interfaceName(name), publicKey: optionalKey(publicKey, 'public-key'), listenPort: port === 0 ? null : port, fwmark: fwmark(mark) };
}

function parsePeerLine(fields: readonly string[]): WgPeerDump {
  const [iface = '', publicKey = '', preshared = '', endpoint = '', ips = '', handshake = '', rx = '', tx = '', keepalive = ''] = fields;
  const latest = unsigned(handshake, 'latest-handshake');
  return {
    interface: interfaceName(iface),
    publicKey: key(publicKey, 'public-key'),
    hasPresharedKey: optionalKey(preshared, 'preshared-key') !== null,
    endpoint: endpoint === '(none)' ? null : endpoint,
    allowedIps: allowedIps(ips),
    latestHandshakeSec: latest === 0 ? null : latest,
    rxBytes: unsigned(rx, 'transfer-rx'),
    txBytes: unsigned(tx, 'transfer-tx'),
    persistentKeepaliveSec: offOrUnsigned(keepalive, 'persistent-keepalive'),
  };
}

/** Parses the whole dump; a malformed line is reported and skipped, never fatal. */
export function parseWgDump(text: string): WgDump {
  const interfaces: WgInterfaceDump[] = [];
  const peers: WgPeerDump[] = [];
  const malformed: MalformedDumpLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const fields = line.split('\t');
    try {
      if (fields.length === 5) interfaces.push(parseInterfaceLine(fields));
      else if (fields.length === 9) peers.push(parsePeerLine(fields));
      else throw new LineError(`${fields.length} tab-separated fields (want 5 for an interface, 9 for a peer)`);
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      malformed.push({ line: index + 1, reason: err.message });
    }
  });
  return { interfaces, peers, malformed };
}
