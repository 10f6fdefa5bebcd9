// The two I/O adapters in front of Tailscale: the API v2 (Node's fetch) and the
// local CLI (`tailscale status --json` through child_process). The source above
// them is the same either way.
import { execFile } from 'node:child_process';
import { PresenceError } from '../errors.js';
import { parseApiDevices, parseStatusJson, type ParsedDevices } from './devices.js';

/** The I/O seam of the Tailscale source. */
export interface TailscaleDeviceReader {
  /** Every device; rejects with a GHOSTDNS_PRESENCE_TAILSCALE_* PresenceError. */
  read(): Promise<ParsedDevices>;
}

/** A rejected read the API asked us to retry later (429 Retry-After). */
export class TailscaleRateLimited extends PresenceError {
  constructor(
    readonly retryAfterMs: number,
    message: string,
  ) {
    super('GHOSTDNS_PRESENCE_TAILSCALE_RATE_LIMITED', message);
  }
}

export type TailscaleCredentials =
  | { readonly kind: 'api-key'; readonly apiKey: string }
  | { readonly kind: 'oauth'; readonly clientId: string; readonly clientSecret: string };

export interface TailscaleApiOptions {
  /** https://api.tailscale.com, without a trailing path. */
  readonly apiUrl: string;
  /** Tailnet name, or "-" for the credentials' own tailnet. */
  readonly tailnet: string;
  readonly credentials: TailscaleCredentials;
  /** Per request. Default 10 000 ms. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3); 60 s when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number {
  const fallback = 60_000;
  if (header === null) return fallback;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : fallback;
}

/** A token is renewed this long before it expires (tokens live an hour). */
const TOKEN_MARGIN_MS = 60_000;

/**
 * GET {apiUrl}/api/v2/tailnet/{tailnet}/devices with an API key, or with an
 * access token from the OAuth client credentials flow (POST
 * {apiUrl}/api/v2/oauth/token), kept until shortly before it expires and
 * renewed once on a 401.
 */
export function tailscaleApiDevices(options: TailscaleApiOptions): TailscaleDeviceReader {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const base = options.apiUrl.replace(/\/+$/, '');
  const devicesUrl = `${base}/api/v2/tailnet/${encodeURIComponent(options.tailnet)}/devices`;
  let token: { value: string; expiresAtMs: number } | null = null;

  const request = async (url: string, init: RequestInit, what: string): Promise<Response> => {
    try {
      return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new PresenceError('GHOSTDNS_PRESENCE_TAILSCALE_FAILED', `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };

  const failure = (response: Response, what: string): PresenceError => {
    if (response.status === 401 || response.status === 403) {
      return new PresenceError('GHOSTDNS_PRESENCE_TAILSCALE_UNAUTHORIZED', `${what}: HTTP ${response.status} (check the API key or OAuth client and its scopes)`);
    }
    if (response.status === 429) {
      const waitMs = retryAfterMs(response.headers.get('retry-after'), now());
      return new TailscaleRateLimited(waitMs, `${what}: HTTP 429, retrying in ${Math.ceil(waitMs / 1000)} s`);
    }
    return new PresenceError('GHOSTDNS_PRESENCE_TAILSCALE_FAILED', `${what}: HTTP ${response.status}`);
  };

  const accessToken = async (credentials: Extract<TailscaleCredentials, { kind: 'oauth' }>): Promise<string> => {
    if (token !== null && now() < token.expiresAtMs - TOKEN_MARGIN_MS) return token.value;
    const what = 'Tailscale OAuth token';
    const response = await request(
      `${base}/api/v2/oauth/token`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: credentials.clientId, client_secret: credentials.clientSecret, grant_type: 'client_credentials' }).toString(),
      },
      what,
    );
    if (!response.ok) throw failure(response, what);
    const body: unknown = await response.json().catch(() => null);
    const value = typeof body === 'object' && body !== null && 'access_token' in body ? body.access_token : undefined;
    const expiresIn = typeof body === 'object' && body !== null && 'expires_in' in body ? body.expires_in : undefined;
    if (typeof value !== 'string' || value === '') throw new PresenceError('GHOSTDNS_PRESENCE_TAILSCALE_FAILED', `${what}: no access_token in the response`);
    token = { value, expiresAtMs: now() + (typeof expiresIn === 'number' ? expiresIn * 1000 : 3_600_000) };
    return value;
  };

  const bearer = async (): Promise<string> =>
    options.credentials.kind === 'api-key' ? options.credentials.apiKey : accessToken(options.credentials);

  const listDevices = async (): Promise<Response> =>
    request(devicesUrl, { headers: { authorization: `Bearer ${await bearer()}`, accept: 'application/json' } }, 'Tailscale devices');

  return {
    async read() {
      let response = await listDevices();
      if (response.status === 401 && options.credentials.kind === 'oauth') {
        // The token may have been revoked or expired early: one fresh one, then give up.
        token = null;
        await response.body?.cancel();
        response = await listDevices();
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw failure(response, 'Tailscale devices');
      }
      try {
        return parseApiDevices(await response.json());
      } catch (err) {
        throw new PresenceError('GHOSTDNS_PRESENCE_TAILSCALE_FAILED', `Tailscale devices: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    },
  };
}

export interface TailscaleCliOptions {
  /** The tailscale binary. Default "tailscale" from PATH. */
  readonly binary?: string;
  /** Default 10 000 ms. */
  readonly timeoutMs?: number;
}

/** Runs `tailscale status --json` (the local tailscaled's view of the tailnet); no configured string reaches the command line. */
export function tailscaleStatusCommand(options: TailscaleCliOptions = {}): TailscaleDeviceReader {
  const binary = options.binary ?? 'tailscale';
  const timeout = options.timeoutMs ?? 10_000;
  return {
    read: () =>
      new Promise<ParsedDevices>((resolve, reject) => {
        execFile(binary, ['status', '--json'], { timeout, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
          if (err) {
            reject(new PresenceError('GHOSTDNS_PRESENCE_TAILSCALE_FAILED', `${binary} status --json failed: ${stderr.trim() || err.message}`, { cause: err }));
            return;
          }
          try {
            resolve(parseStatusJson(JSON.parse(stdout)));
          } catch (parseError) {
            reject(new PresenceError('GHOSTDNS_PRESENCE_TAILSCALE_FAILED', `${binary} status --json: unreadable output`, { cause: parseError }));
          }
        });
      }),
  };
}
