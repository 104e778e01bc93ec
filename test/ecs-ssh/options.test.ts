import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';
import { resolveOptions } from '../../src/commands/ecs-ssh/options.js';
import { resolveSetting, type ConfigFile } from '../../src/lib/config.js';
import { OpsError } from '../../src/lib/errors.js';
import { chooseSshHost, readSshConfigHosts } from '../../src/commands/ecs-ssh/ssh-hosts.js';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// argv → options: commander's parse, then flags > env > config > defaults.
async function parse(argv: string[], src: { env?: NodeJS.ProcessEnv; config?: ConfigFile } = {}) {
  const state: Parameters<typeof buildProgram>[0] = {};
  await buildProgram(state).parseAsync(['ecs-ssh', ...argv], { from: 'user' });
  const setting = ((section: string, key: string, flag: unknown, fallback?: unknown, type?: never) =>
    resolveSetting({ config: src.config ?? {}, configPath: '/cfg.json', env: src.env ?? {} }, section, key, flag as never, fallback as never, type)) as never;
  return resolveOptions(state.run!.args, state.run!.opts, setting);
}

function usage(fn: () => Promise<unknown>) {
  return fn().then(
    () => {
      throw new Error('expected a usage error');
    },
    (e: OpsError) => {
      expect(e).toBeInstanceOf(OpsError);
      expect(e.exitCode).toBe(2);
      return e;
    },
  );
}

describe('ecs-ssh argv → options', () => {
  it('takes SERVICE, the command after -- verbatim, and every option', async () => {
    const o = await parse(['web', '--cluster', 'prod', '--task', 't1', '--container', 'app', '--ssh-config', '/x/cfg', '--user', 'admin', '--public', '--ssh-option', 'ConnectTimeout=5', '--ssh-option', 'ProxyJump bastion', '--print', '--', 'sh', '-c', 'echo "$HOME"; ls "a b"', '--cluster']);
    expect(o).toEqual({
      service: 'web',
      command: ['sh', '-c', 'echo "$HOME"; ls "a b"', '--cluster'],
      cluster: 'prod',
      task: 't1',
      container: 'app',
      all: false,
      list: false,
      print: true,
      sshConfig: '/x/cfg',
      user: 'admin',
      fallbackUser: 'admin',
      public: true,
      sshOptions: ['ConnectTimeout=5', 'ProxyJump bastion'],
    });
  });

  it('no command means an interactive shell; defaults: ec2-user, private IP', async () => {
    expect(await parse(['web'])).toMatchObject({ service: 'web', command: [], cluster: undefined, fallbackUser: 'ec2-user', user: undefined, public: false, sshOptions: [] });
  });

  it('cluster, user and ssh options come from env over config; flags win', async () => {
    const config = { ecs: { cluster: 'from-config', user: 'ubuntu', sshOptions: ['ServerAliveInterval=30'], sshConfig: '/etc/team_ssh_config' } };
    expect(await parse(['web'], { config })).toMatchObject({ cluster: 'from-config', fallbackUser: 'ubuntu', user: undefined, sshOptions: ['ServerAliveInterval=30'], sshConfig: '/etc/team_ssh_config' });
    expect(await parse(['web'], { config, env: { OPSCTL_ECS_CLUSTER: 'from-env' } })).toMatchObject({ cluster: 'from-env' });
    expect(await parse(['web', '--cluster', 'flag', '--ssh-option', 'A=1'], { config, env: { OPSCTL_ECS_CLUSTER: 'from-env' } })).toMatchObject({ cluster: 'flag', sshOptions: ['ServerAliveInterval=30', 'A=1'] });
  });

  it('--list needs no service; --all needs a command', async () => {
    expect(await parse(['--list'])).toMatchObject({ list: true, service: undefined });
    expect(await parse(['--list', 'web'])).toMatchObject({ list: true, service: 'web' });
    expect((await usage(() => parse(['web', '--all']))).message).toBe('--all needs a COMMAND to run on every task.');
    expect(await parse(['web', '--all', '--', 'uptime'])).toMatchObject({ all: true, command: ['uptime'] });
  });

  it('rejects contradictions and malformed values with exit 2', async () => {
    expect((await usage(() => parse([]))).message).toMatch(/^Missing SERVICE/);
    expect((await usage(() => parse(['web', '--all', '--task', 'x', '--', 'ls']))).message).toBe('--all and --task contradict each other.');
    expect((await usage(() => parse(['--list', 'web', '--', 'ls']))).message).toBe('--list takes no COMMAND.');
    expect((await usage(() => parse(['web', '--ssh-option', '-oProxyCommand=evil']))).message).toMatch(/--ssh-option must look like Key=Value/);
    expect((await usage(() => parse(['web', '--user', '-oProxyCommand=x']))).message).toMatch(/--user must be a plain user name/);
    expect((await usage(() => parse(['web\nrm']))).message).toMatch(/SERVICE must be a name/);
    // the fallback user from config or env reaches ssh as -l too
    expect((await usage(() => parse(['web'], { env: { OPSCTL_ECS_USER: '-oProxyCommand=x' } }))).message).toBe('ecs.user must be a plain user name, got "-oProxyCommand=x".');
  });
});

describe('ssh config → host', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'ecs-ssh-home-'));
  mkdirSync(path.join(home, '.ssh', 'conf.d'), { recursive: true });
  writeFileSync(
    path.join(home, '.ssh', 'config'),
    ['Include conf.d/*.conf', '', 'Host ecs-prod-1 ecs-prod-1.internal', '  HostName 10.0.0.5', '  User ec2-user', '', 'Host *.bastioned', '  ProxyJump bastion', '', 'Host by-dns', '  HostName ip-10-0-0-9.eu-west-1.compute.internal', '', 'Host *', '  ServerAliveInterval 30', ''].join('\n'),
  );
  writeFileSync(path.join(home, '.ssh', 'conf.d', 'team.conf'), 'Host team-box\n  HostName 10.0.0.77\n');
  const hosts = readSshConfigHosts(undefined, home);
  const opts = { public: false, fallbackUser: 'ec2-user' };

  it('reads Host aliases (not patterns) and HostNames, following Include', () => {
    expect(hosts.entries).toEqual([
      { aliases: ['team-box'], hostName: '10.0.0.77' },
      { aliases: ['ecs-prod-1', 'ecs-prod-1.internal'], hostName: '10.0.0.5' },
      { aliases: ['by-dns'], hostName: 'ip-10-0-0-9.eu-west-1.compute.internal' },
    ]);
  });

  it('prefers the Name tag alias, then a HostName match on IP or DNS, then the IP', () => {
    expect(chooseSshHost({ nameTag: 'ECS-PROD-1', privateIp: '10.9.9.9' }, hosts, opts)).toEqual({ host: 'ecs-prod-1', source: 'name-tag-alias', user: undefined });
    expect(chooseSshHost({ nameTag: 'nope', privateIp: '10.0.0.77' }, hosts, opts)).toEqual({ host: 'team-box', source: 'hostname-alias', user: undefined });
    expect(chooseSshHost({ privateIp: '10.0.0.9', privateDns: 'ip-10-0-0-9.eu-west-1.compute.internal' }, hosts, opts)).toEqual({ host: 'by-dns', source: 'hostname-alias', user: undefined });
    expect(chooseSshHost({ privateIp: '10.0.0.10', publicIp: '3.3.3.3' }, hosts, opts)).toEqual({ host: '10.0.0.10', source: 'private-ip', user: 'ec2-user' });
    expect(chooseSshHost({ privateIp: '10.0.0.10', publicIp: '3.3.3.3' }, hosts, { ...opts, public: true, user: 'root' })).toEqual({ host: '3.3.3.3', source: 'public-ip', user: 'root' });
    expect(chooseSshHost({ privateIp: '10.0.0.10' }, hosts, { ...opts, public: true })).toBeUndefined();
  });

  it('a missing default config is empty; a missing --ssh-config is an error', () => {
    expect(readSshConfigHosts(undefined, path.join(home, 'nobody'))).toEqual({ file: '', entries: [] });
    expect(() => readSshConfigHosts(path.join(home, 'missing'), home)).toThrow(/ssh config file .*missing does not exist/);
  });
});
