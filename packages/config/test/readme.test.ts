import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configKeysMarkdown } from '../src/index.js';

describe('README configuration reference', () => {
  it('lists exactly the keys the schema has (regenerate with `pnpm ghostdns config keys --format markdown`)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(configKeysMarkdown());
  });
});
