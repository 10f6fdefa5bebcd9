import { stat } from 'node:fs/promises';
import type { GhostConfig } from '@ghostdns/config';
import type { QueryEvent } from '@ghostdns/contracts';

/** A line an import could not use, and why (reasons are the source's bounded set). */
export interface ImportSkip {
  reason: string;
  file: string;
  /** 1-based line (or record) number in the file. */
  line: number;
}

/** One step of reading: events to store, and how much input it took. */
export interface ImportStep {
  events: QueryEvent[];
  /** Lines (records) read since the previous step. */
  lines: number;
  /** Input bytes read since the previous step (as on disk: compressed for .gz). */
  bytes: number;
  skipped: ImportSkip[];
}

/** Something `ghostdns import <name> FILE…` reads history from: one object here and one entry in importSources. */
export interface ImportSource {
  /** Command word: `ghostdns import <name>`. */
  readonly name: string;
  readonly summary: string;
  /** The files in the order they must be read (rotated sets oldest first). */
  order(files: readonly string[]): Promise<string[]>;
  /** Total input bytes (for the ETA). Rejects naming an unreadable file. */
  totalBytes(files: readonly string[]): Promise<number>;
  /** Reads the ordered files. Event ids must be deterministic so a second import adds nothing. */
  read(files: readonly string[], config: GhostConfig): AsyncIterable<ImportStep>;
}

// Sources load resolver-edge lazily, so `ghostdns --help` and `config` never import the services.

/** BIND9 queries.log / query-errors.log, plain or gzip (the reader lives with the tap in resolver-edge). */
export const bindQuerylogSource: ImportSource = {
  name: 'bind-querylog',
  summary: 'Load BIND9 query logs (queries.log*, query-errors.log*, plain or .gz) into dns_queries',
  async order(files) {
    const { orderQuerylogFiles } = await import('@ghostdns/resolver-edge/taps/querylog');
    return orderQuerylogFiles(files);
  },
  async totalBytes(files) {
    const { querylogFilesSize } = await import('@ghostdns/resolver-edge/taps/querylog');
    return querylogFilesSize(files);
  },
  async *read(files, config) {
    const { readQuerylogFiles } = await import('@ghostdns/resolver-edge/taps/querylog');
    yield* readQuerylogFiles(files, {
      node: { id: config.node.id, pop: config.node.pop },
      timezone: config.tap.bindTimezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    });
  },
};

/** dnstap Frame Streams files as `dnstap-read` reads them (BIND's `dnstap-output file`, fstrm_capture), plain or .gz, in the order given. */
export const dnstapSource: ImportSource = {
  name: 'dnstap',
  summary: 'Load dnstap Frame Streams files (plain or .gz, as dnstap-read reads them) into dns_queries',
  async order(files) {
    return [...files];
  },
  async totalBytes(files) {
    const sizes = await Promise.all(files.map(async (file) => (await stat(file)).size));
    return sizes.reduce((a, b) => a + b, 0);
  },
  async *read(files, config) {
    const { readDnstapFile } = await import('@ghostdns/resolver-edge/taps/dnstap');
    for (const file of files) {
      const reader = readDnstapFile(file, { node: { id: config.node.id, pop: config.node.pop }, eventWire: config.dns.eventWire });
      let frames = 0;
      let bytes = 0;
      for await (const batch of reader) {
        const { stats } = reader;
        // A skip names the frame count reached when it was found (dnstap files have no lines).
        const skipped = batch.skipped.map((s) => ({ reason: s.reason, file, line: stats.frames }));
        yield { events: batch.events, lines: stats.frames - frames, bytes: stats.bytes - bytes, skipped };
        frames = stats.frames;
        bytes = stats.bytes;
      }
    }
  },
};

export const importSources: readonly ImportSource[] = [bindQuerylogSource, dnstapSource];
