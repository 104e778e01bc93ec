import { describe, expect, it } from 'vitest';
import { loadedSources } from '../support/loaded.js';

describe('what start-up loads', () => {
  it('--help loads the registry and commander only: no execa, SDK, prompt or command code', () => {
    const { sources } = loadedSources(['--help']);
    expect(sources).toContain('src/cli.ts');
    const packages = [...new Set(sources.filter((s) => s.includes('node_modules/')).map((s) => s.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1')))].sort();
    expect(packages).toEqual(['commander']);
    expect(sources.filter((s) => s.startsWith('src/commands/') || s === 'src/lib/process.ts' || s === 'src/lib/prompt.ts' || s === 'src/lib/context.ts')).toEqual([]);
  });
  it('a command that never spawns does not load execa (imported inside run, on first use)', () => {
    const { sources } = loadedSources(['completion', 'bash']);
    expect(sources).toContain('src/lib/process.ts');
    expect(sources.filter((s) => s.includes('node_modules/execa/'))).toEqual([]);
  });
});
