// Starts the test harness, prints `export K=V` lines on stdout and keeps the
// components running until killed (Ctrl-C / SIGTERM):
//   eval "$(pnpm exec tsx scripts/harness.ts)"   # blocks; run it in its own shell
//   pnpm exec tsx scripts/harness.ts > /tmp/ghostdns-harness.env &   # then: . /tmp/ghostdns-harness.env
// The root package is CommonJS for tsx; testkit is ESM: load it with import().
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

async function main(): Promise<void> {
  const { startHarness } = await import('../packages/testkit/src/index.js');
  const harness = await startHarness();
  for (const [key, value] of Object.entries(harness.env)) process.stdout.write(`export ${key}=${shellQuote(value)}\n`);
  process.stderr.write('harness: running; Ctrl-C or SIGTERM stops it\n');

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    void harness.stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Keep the event loop alive until a signal arrives.
  setInterval(() => undefined, 1 << 30);
}

main().catch((err: unknown) => {
  process.stderr.write(`harness: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
