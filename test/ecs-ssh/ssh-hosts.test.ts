import { describe, expect, it } from 'vitest';
import { isIP } from 'node:net';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chooseSshHost, ipLiteral, scanSshConfig, SshResolver, type InstanceAddresses } from '../../src/commands/ecs-ssh/ssh-hosts.js';
import { processRunner } from '../../src/lib/process.js';
import { missingTools } from '../support/tools.js';

// OpenSSH decides: every answer here comes from the real `ssh -G` reading
// the config written by the test (it connects nowhere).
const skip = missingTools('ssh');
const home = mkdtempSync(path.join(os.tmpdir(), 'ecs-ssh-hosts-'));
mkdirSync(path.join(home, '.ssh', 'conf.d'), { recursive: true });

function config(text: string): string {
  const file = path.join(home, `config_${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, text);
  return file;
}
const noDns = async (_host: string) => [] as string[];
const opts = { public: false, fallbackUser: 'ec2-user', dnsLookup: noDns };
const choose = (file: string, addr: InstanceAddresses, o: Partial<typeof opts & { sharedNameTag: boolean; user: string }> = {}) =>
  chooseSshHost(addr, new SshResolver(processRunner, scanSshConfig(file, home)), { ...opts, ...o });

describe.skipIf(skip)('ssh -G decides which host an instance is', () => {
  it('instances sharing a Name tag are never merged: the alias serves only the instance its HostName is', async () => {
    const file = config('Host ecs-node\n  HostName 10.0.1.17\n  User ec2-user\n');
    const a = await choose(file, { id: 'i-a', nameTag: 'ecs-node', privateIp: '10.0.1.17' }, { sharedNameTag: true });
    const b = await choose(file, { id: 'i-b', nameTag: 'ecs-node', privateIp: '10.0.1.18' }, { sharedNameTag: true });
    expect(a).toMatchObject({ host: 'ecs-node', source: 'name-tag', user: undefined });
    expect(a!.resolved.hostname).toBe('10.0.1.17');
    expect(b).toMatchObject({ host: '10.0.1.18', source: 'private-ip', user: 'ec2-user' });
    expect(b!.why).toBe('private IP of i-b (Name tag "ecs-node" is shared with other instances)');
  });

  it('Host prod-* with %h and ProxyJump: the Name tag is used as OpenSSH resolves it, with its user (no -l)', async () => {
    const file = config('Host bastion\n  HostName 203.0.113.10\n\nHost prod-*\n  HostName %h.internal.example.com\n  User ec2-user\n  ProxyJump bastion\n  ConnectTimeout 7\n');
    const c = await choose(file, { id: 'i-1', nameTag: 'prod-ecs-host-1', privateIp: '10.0.1.17' });
    expect(c).toMatchObject({ host: 'prod-ecs-host-1', source: 'name-tag-jump', user: undefined });
    expect(c!.resolved).toMatchObject({ hostname: 'prod-ecs-host-1.internal.example.com', user: 'ec2-user', proxyJump: 'bastion', connectTimeout: 7 });
    // shared: the name cannot tell them apart, so the IP, through the same jump host, as that block's user
    const s = await choose(file, { id: 'i-2', nameTag: 'prod-ecs-host-1', privateIp: '10.0.1.18' }, { sharedNameTag: true });
    expect(s).toMatchObject({ host: '10.0.1.18', source: 'private-ip', proxyJump: 'bastion', user: 'ec2-user' });
  });

  it('%h without a jump host counts only when DNS puts the resolved name on this instance', async () => {
    const file = config('Host prod-*\n  HostName %h.corp.example\n');
    const dns = async (h: string) => (h === 'prod-ecs-host-1.corp.example' ? ['10.0.1.17'] : []);
    const hit = await choose(file, { id: 'i-1', nameTag: 'prod-ecs-host-1', privateIp: '10.0.1.17' }, { dnsLookup: dns });
    expect(hit).toMatchObject({ host: 'prod-ecs-host-1', source: 'name-tag', user: 'ec2-user' });
    expect(hit!.why).toBe('ssh config: Name tag "prod-ecs-host-1" → prod-ecs-host-1.corp.example resolves to 10.0.1.17, this instance\'s address');
    const miss = await choose(file, { id: 'i-2', nameTag: 'prod-ecs-host-1', privateIp: '10.0.1.99' }, { dnsLookup: dns });
    expect(miss).toMatchObject({ host: '10.0.1.99', source: 'private-ip' });
  });

  it('an alias pointing at another machine is never used for this one', async () => {
    const file = config('Host ecs-prod-1\n  HostName 10.0.9.9\n');
    expect(await choose(file, { id: 'i-1', nameTag: 'ecs-prod-1', privateIp: '10.0.1.17' })).toMatchObject({ host: '10.0.1.17', source: 'private-ip', user: 'ec2-user' });
  });

  it('Match blocks: the IP fallback gets the user and jump host OpenSSH gives that address', async () => {
    const file = config('Match host 10.0.2.*\n  User admin\n  ProxyJump jump2\n\nHost *\n  ServerAliveInterval 30\n');
    const c = await choose(file, { id: 'i-9', privateIp: '10.0.2.5' });
    expect(c).toMatchObject({ host: '10.0.2.5', source: 'private-ip', user: undefined });
    expect(c!.resolved).toMatchObject({ user: 'admin', proxyJump: 'jump2' });
    // --user always wins
    expect(await choose(file, { id: 'i-9', privateIp: '10.0.2.5' }, { user: 'root' })).toMatchObject({ user: 'root' });
  });

  it('Include (with a glob) is followed to find aliases whose HostName is the instance', async () => {
    writeFileSync(path.join(home, '.ssh', 'conf.d', 'team.conf'), 'Host team-box\n  HostName 10.0.0.77\n  User ubuntu\n');
    const file = config(`Include ${path.join(home, '.ssh', 'conf.d')}/*.conf\n\nHost other\n  HostName 10.0.0.1\n`);
    expect(scanSshConfig(file, home).hostNames).toEqual(['team-box', 'other']);
    expect(await choose(file, { id: 'i-7', nameTag: 'no-alias', privateIp: '10.0.0.77' })).toMatchObject({ host: 'team-box', source: 'hostname-alias', user: undefined });
    // the private DNS name counts as an address too
    const byDns = config('Host by-dns\n  HostName ip-10-0-0-9.eu-west-1.compute.internal\n');
    expect(await choose(byDns, { privateIp: '10.0.0.9', privateDns: 'ip-10-0-0-9.eu-west-1.compute.internal' })).toMatchObject({ host: 'by-dns', source: 'hostname-alias' });
  });

  it('a config User equal to the local login name still counts as set by the config', async () => {
    const me = os.userInfo().username;
    const file = config(`Host box\n  HostName 10.0.0.5\n  User ${me}\n`);
    expect(await choose(file, { nameTag: 'box', privateIp: '10.0.0.5' })).toMatchObject({ host: 'box', user: undefined });
  });

  it('Name tags that cannot be ssh destinations (spaces, escapes, leading "-") fall back to the IP', async () => {
    const file = config('Host *\n  User ec2-user\n');
    for (const tag of ['ecs node 1', '-oProxyCommand=x', 'evil\u001b]0;pwned\u0007']) {
      expect(await choose(file, { nameTag: tag, privateIp: '10.0.0.5' })).toMatchObject({ host: '10.0.0.5', source: 'private-ip' });
    }
  });

  it('--public uses the public IP; no IP at all is undefined; a missing --ssh-config is an error', async () => {
    const file = config('');
    expect(await choose(file, { privateIp: '10.0.0.10', publicIp: '3.3.3.3' }, { public: true } as never)).toMatchObject({ host: '3.3.3.3', source: 'public-ip' });
    expect(await choose(file, { privateIp: '10.0.0.10' }, { public: true } as never)).toBeUndefined();
    expect(() => scanSshConfig(path.join(home, 'missing'), home)).toThrow(/ssh config file .*missing does not exist/);
    expect(scanSshConfig(undefined, path.join(home, 'nobody')).configFile).toBeUndefined();
  });
});

describe('ipLiteral', () => {
  it('agrees with net.isIP on addresses, names and near-misses', () => {
    const inputs = ['10.0.1.17', '255.255.255.255', '256.1.1.1', '::1', '::', 'fe80::1%eth0', '2001:db8::8a2e:370:7334', '[::1]', 'box', 'prod-ecs-host-1', 'ip-10-0-1-17.ec2.internal', '1.2.3', '', ':', 'a:b', '10.0.0.1:22'];
    for (const s of inputs) expect([s, ipLiteral(s)]).toEqual([s, isIP(s) !== 0]);
  });
});
