/**
 * Node 20 is end-of-life but still what some machines have (this one's
 * /usr/bin/node): opsctl starts there and says so in exactly one line, and
 * leaves the AWS SDK's own Node-version warnings to reach the user.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { binPath, repoRoot } from '../support/cli.js';
import { inCI } from '../support/tools.js';

function findNode20(): string | undefined {
  const candidates = ['/usr/bin/node', '/usr/local/bin/node', ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'node'))];
  for (const file of new Set(candidates)) {
    const r = spawnSync(file, ['--version'], { encoding: 'utf8' });
    if (r.status === 0 && /^v20\./.test(r.stdout)) return file;
  }
  return undefined;
}
const node20 = findNode20();
if (!node20 && !inCI) console.warn('skipped: no Node.js 20 on this machine');

describe.skipIf(!node20 && !inCI)('on Node.js 20', () => {
  it('opsctl --help starts, exits 0 and prints exactly one line saying Node 20 is end-of-life', () => {
    expect(node20, 'a Node.js 20 binary (this machine kind has /usr/bin/node 20)').toBeDefined();
    const r = spawnSync(node20!, [binPath, '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: repoRoot, NO_COLOR: '1' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: opsctl /);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^warning: Node\.js 20\.\d+\.\d+ is end-of-life; opsctl supports Node\.js 22\.12\+ and 24/)]);
  });
});

describe('the AWS SDK’s Node-version warnings', () => {
  it('are not silenced: neither the sources, the bin nor the build set AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', () => {
    const files = (dir: string) => readdirSync(path.join(repoRoot, dir), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
    const ours = [...files('src'), ...files('bin'), ...files('scripts')];
    expect(ours.filter((f) => readFileSync(f, 'utf8').includes('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'))).toEqual([]);
    // The SDK's own check is in the bundle that ships, untouched (it reads the variable itself).
    expect(files('dist').some((f) => readFileSync(f, 'utf8').includes('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'))).toBe(true);
  });
});
