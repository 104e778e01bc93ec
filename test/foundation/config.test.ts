import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configPath, envName, loadConfig, parseConfig, resolveSetting } from '../../src/lib/config.js';
import { OpsError } from '../../src/lib/errors.js';

describe('config', () => {
  it('finds the file under XDG_CONFIG_HOME, with --config and OPSCTL_CONFIG overriding', () => {
    expect(configPath(undefined, { XDG_CONFIG_HOME: '/x', HOME: '/h' }).path).toBe('/x/opsctl/config.json');
    expect(configPath(undefined, { HOME: '/h' }).path).toBe('/h/.config/opsctl/config.json');
    expect(configPath(undefined, { HOME: '/h', OPSCTL_CONFIG: '/c.json' }).path).toBe('/c.json');
    expect(configPath('/flag.json', { OPSCTL_CONFIG: '/c.json' }).path).toBe('/flag.json');
  });

  it('a missing default file is fine, a missing explicit one is a usage error', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    expect(loadConfig(undefined, { XDG_CONFIG_HOME: dir }).found).toBe(false);
    expect(() => loadConfig(path.join(dir, 'nope.json'), {})).toThrow(/does not exist/);
  });

  it('malformed files name the file and the problem, exit 2', () => {
    const bad = [
      ['{"ecs": ', /not valid JSON/],
      ['[1,2]', /must contain a JSON object, not a list/],
      ['{"ecs": "main"}', /"ecs" must be an object of settings/],
      ['{"ecs": {"cluster": {"a": 1}}}', /"ecs.cluster" must be a string/],
    ] as const;
    for (const [text, re] of bad) {
      try {
        parseConfig(text, '/etc/x.json');
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(OpsError);
        expect((err as OpsError).exitCode).toBe(2);
        expect((err as OpsError).message).toMatch(re);
        expect((err as OpsError).message).toContain('/etc/x.json');
      }
    }
  });

  it('resolves flags > env > config > defaults', () => {
    const config = parseConfig(JSON.stringify({ ecs: { cluster: 'from-config' }, cognito: { rate: 25 } }), 'c');
    const src = (env: NodeJS.ProcessEnv) => ({ config, configPath: 'c', env });
    expect(envName('cognito', 'userPoolId')).toBe('OPSCTL_COGNITO_USER_POOL_ID');
    expect(resolveSetting(src({ OPSCTL_ECS_CLUSTER: 'from-env' }), 'ecs', 'cluster', 'from-flag')).toBe('from-flag');
    expect(resolveSetting(src({ OPSCTL_ECS_CLUSTER: 'from-env' }), 'ecs', 'cluster', undefined)).toBe('from-env');
    expect(resolveSetting(src({}), 'ecs', 'cluster', undefined)).toBe('from-config');
    expect(resolveSetting(src({}), 'ecs', 'user', undefined, 'ec2-user')).toBe('ec2-user');
    expect(resolveSetting(src({ OPSCTL_COGNITO_RATE: '12' }), 'cognito', 'rate', undefined, 40)).toBe(12);
    expect(resolveSetting(src({}), 'cognito', 'rate', undefined, 40)).toBe(25);
    expect(() => resolveSetting(src({ OPSCTL_COGNITO_RATE: 'fast' }), 'cognito', 'rate', undefined, 40)).toThrow(/OPSCTL_COGNITO_RATE must be a number/);
  });

  it('loads a real file from disk', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    writeFileSync(path.join(dir, 'c.json'), '{"aws": {"region": "eu-west-1"}}');
    expect(loadConfig(path.join(dir, 'c.json'), {}).data.aws?.region).toBe('eu-west-1');
  });
});
