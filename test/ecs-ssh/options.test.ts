import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';
import { checkRegion, resolveOptions } from '../../src/commands/ecs-ssh/options.js';
import { resolveSetting, type ConfigFile } from '../../src/lib/config.js';
import { OpsError } from '../../src/lib/errors.js';

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
      via: 'auto',
      forward: undefined,
      tty: undefined,
      cache: true,
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
    expect((await usage(() => parse(['web', '--forward', '8080', '--', 'ls']))).message).toMatch(/^--forward runs no COMMAND/);
    expect((await usage(() => parse(['web', '--forward', '70000']))).message).toMatch(/must be a port number from 1 to 65535/);
    expect((await usage(() => parse(['web', '--forward', '1:-oProxyCommand=x:2']))).message).toMatch(/is not a host name or IP address/);
    expect((await usage(() => parse(['web', '--forward', '1:2:3:4']))).message).toMatch(/is not \[LOCAL:\]PORT or LOCAL:HOST:PORT/);
    // the fallback user from config or env reaches ssh as -l too
    expect((await usage(() => parse(['web'], { env: { OPSCTL_ECS_USER: '-oProxyCommand=x' } }))).message).toBe('ecs.user must be a plain user name, got "-oProxyCommand=x".');
  });
});

describe('routes, forwards, terminals', () => {
  it('--via, --forward in its three shapes, -t / -T, --no-cache', async () => {
    expect(await parse(['web', '--via', 'ssm'])).toMatchObject({ via: 'ssm' });
    expect(await parse(['web'], { env: { OPSCTL_ECS_VIA: 'exec' } })).toMatchObject({ via: 'exec' });
    await expect(parse(['web', '--via', 'telnet'])).rejects.toThrow();
    expect((await parse(['web', '--forward', '8080'])).forward).toEqual({ localPort: 8080, port: 8080 });
    expect((await parse(['web', '--forward', '18080:80'])).forward).toEqual({ localPort: 18080, port: 80 });
    expect((await parse(['web', '--forward', '15432:db.abc.eu-west-1.rds.amazonaws.com:5432'])).forward).toEqual({ localPort: 15432, host: 'db.abc.eu-west-1.rds.amazonaws.com', port: 5432 });
    expect((await parse(['web', '--forward', '15432:[fd00::5]:5432'])).forward).toEqual({ localPort: 15432, host: 'fd00::5', port: 5432 });
    expect(await parse(['web', '-t'])).toMatchObject({ tty: true });
    expect(await parse(['web', '-T'])).toMatchObject({ tty: false });
    expect(await parse(['web', '--no-cache'])).toMatchObject({ cache: false });
  });

  it('a malformed --region is one line with a hint (exit 2)', () => {
    expect(() => checkRegion('eu-west-1')).not.toThrow();
    expect(() => checkRegion('us-gov-west-1')).not.toThrow();
    for (const bad of ['eu-west1', 'Europe', 'eu west 1', 'eu-west-1\x1b]0;x']) {
      const e = (() => {
        try {
          checkRegion(bad);
        } catch (err) {
          return err as OpsError;
        }
        throw new Error(`accepted ${bad}`);
      })();
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(/is not an AWS region name\.$/);
      expect(e.message).not.toMatch(/[\u0000-\u001f]/);
      expect(e.hint).toMatch(/eu-west-1/);
    }
  });
});
