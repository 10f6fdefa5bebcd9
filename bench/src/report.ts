export interface BenchmarkResult {
  columns: string[];
  rows: (string | number)[][];
  notes?: string[];
}

export interface Benchmark {
  title: string;
  run(env: Record<string, string>): Promise<BenchmarkResult>;
}

export function printTable(title: string, result: BenchmarkResult): void {
  const cells = [result.columns, ...result.rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const widths = result.columns.map((_, i) => Math.max(...cells.map((row) => String(row[i] ?? '').length)));
  const line = (row: (string | number)[]) => `| ${row.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(`\n## ${title}\n`);
  console.log(line(result.columns));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of cells.slice(1)) console.log(line(row));
  for (const note of result.notes ?? []) console.log(`\n${note}`);
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return n.toLocaleString('en-US', { maximumFractionDigits: 2 });
}
