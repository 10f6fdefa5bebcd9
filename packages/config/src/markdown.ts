import { listConfigKeys } from './keys.js';

/** The configuration reference as a Markdown table (README.md embeds it; a test keeps them equal). */
export function configKeysMarkdown(): string {
  const escape = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = ['| key | environment | type | default | what it does |', '| --- | --- | --- | --- | --- |'];
  for (const k of listConfigKeys()) {
    const env = k.alias ? `\`${k.env}\` or \`${k.alias}\`` : `\`${k.env}\``;
    const def = k.default === undefined || k.default === '' ? '—' : `\`${k.default}\``;
    lines.push(`| \`${k.key}\` | ${env} | ${escape(k.type)} | ${def} | ${escape(k.description)} |`);
  }
  return lines.join('\n');
}
