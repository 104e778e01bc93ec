import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run as issue, resolveIssueOptions } from '../../src/commands/cert/issue.js';
import type { ChallengeSolver } from '../../src/commands/cert/acme.js';
import { startPebble, type TestPebble } from '../support/cert-pebble.js';
import { testCertDeps } from '../support/cert-deps.js';
import { binPath } from '../support/cli.js';
import { missingTools } from '../support/tools.js';
import { startHeroku } from '../support/cert-heroku.js';
import { createHerokuApi } from '../../src/commands/cert/heroku.js';
import { OpsError } from '../../src/lib/errors.js';

const skip = missingTools('/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', 'openssl', 'curl');
const setting = (_s: string, _k: string, flag: any, fallback?: any) => flag ?? fallback;

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(skip)('cert faults against Pebble', () => {
  // Validation sleeps (no PEBBLE_VA_NOSLEEP): the challenge stays live long enough to interrupt it.
  let slow: TestPebble;
  let flaky: TestPebble;
  beforeAll(async () => {
    [slow, flaky] = await Promise.all([startPebble({ nosleep: false }), startPebble({ nonceReject: 50 })]);
  });
  afterAll(async () => {
    await Promise.all([slow?.stop(), flaky?.stop()]);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s during --webroot: exit 130, the token files and the directories opsctl made are gone', async (sig) => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'home-'));
    const webroot = await mkdtemp(path.join(os.tmpdir(), 'webroot-'));
    const child = spawn(process.execPath, [binPath, 'cert', 'issue', '-d', `term-${sig.toLowerCase()}.test`, '--email', 'ops@opsctl.test', '--directory', slow.directoryUrl, '--ca-bundle', slow.caBundle, '--webroot', webroot, '--no-self-check', '--cert-dir', path.join(home, 'store')], {
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const challengeDir = path.join(webroot, '.well-known', 'acme-challenge');
    await waitFor(async () => ((await readdir(challengeDir).catch(() => [])).length ? true : undefined), 20_000);
    const t0 = Date.now();
    child.kill(sig);
    const code = await exited;
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(code).toBe(130);
    expect(await readdir(webroot)).toEqual([]);
    expect(stderr).toMatch(/error: (Terminated \(SIGTERM\)|Interrupted)/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(await readdir(path.join(home, 'store', 'live')).catch(() => [])).toEqual([]);
  });

  it('interrupted while the Heroku app restarts: the LETSENCRYPT_* config vars are removed', async () => {
    const heroku = await startHeroku({ serveChallenge: false });
    try {
      const controller = new AbortController();
      const deps = await testCertDeps({ httpPort: slow.httpPort, signal: controller.signal, herokuApi: async () => createHerokuApi({ token: heroku.token, baseUrl: heroku.apiUrl }), waits: { herokuTimeoutMs: 30_000, herokuIntervalMs: 50 } });
      const s = resolveIssueOptions({ domain: ['heroku-term.test'], email: 'ops@opsctl.test', directory: slow.directoryUrl, caBundle: slow.caBundle, herokuApp: heroku.appName }, { setting } as any);
      const pending = issue(s, deps).catch((e) => e);
      await waitFor(async () => (heroku.configVars.LETSENCRYPT_KEY ? true : undefined), 15_000);
      controller.abort(new OpsError('Interrupted.', { exitCode: 130, code: 'interrupted' }));
      expect(await pending).toMatchObject({ code: 'interrupted' });
      expect(Object.keys(heroku.configVars).filter((k) => k.startsWith('LETSENCRYPT_'))).toEqual([]);
      expect(heroku.configHistory.at(-1)).toEqual({ LETSENCRYPT_KEY: null, LETSENCRYPT_CHALLENGE: null });
    } finally {
      await heroku.stop();
    }
  });

  it('a CA that dies mid-issuance fails within the unreachable limit with one line, not minutes of backoff', async () => {
    const dying = await startPebble({ nosleep: false });
    try {
      const solver: ChallengeSolver = {
        name: 'dns',
        challengeType: 'dns-01',
        batchSize: Infinity,
        async present(items) {
          for (const i of items) await dying.setTxt(`_acme-challenge.${i.domain}`, i.dnsValue);
          // the CA goes away while opsctl polls the authorization
          setTimeout(() => dying.killCa(), 300);
        },
        async cleanup() {},
      };
      const deps = await testCertDeps({ route53Solver: async () => solver, transport: { retryAttempts: 1, retryDelaySeconds: 0, unreachableMs: 3000 } });
      const s = resolveIssueOptions({ domain: ['dying.test'], email: 'ops@opsctl.test', directory: dying.directoryUrl, caBundle: dying.caBundle, dns: 'route53' }, { setting } as any);
      const t0 = Date.now();
      const err = await issue(s, deps).catch((e) => e);
      expect(Date.now() - t0).toBeLessThan(12_000);
      expect(err).toMatchObject({ code: 'acme-unreachable', message: expect.stringMatching(/^The ACME server 127\.0\.0\.1:\d+ stopped answering \(ECONNREFUSED for \d+ s\); nothing was stored\.$/) });
      expect(await deps.store.list()).toEqual([]);
    } finally {
      await dying.stop();
    }
  });

  it('50 % badNonce (PEBBLE_WFE_NONCEREJECT=50): every issuance succeeds', async () => {
    const deps = await testCertDeps({ httpPort: flaky.httpPort });
    for (let i = 0; i < 6; i++) {
      const s = resolveIssueOptions({ domain: [`nonce${i}.test`], email: 'ops@opsctl.test', directory: flaky.directoryUrl, caBundle: flaky.caBundle, standalone: true, httpPort: flaky.httpPort }, { setting } as any);
      const r = await issue(s, deps);
      expect(r.skipped).toBe(false);
    }
    expect((await deps.store.list()).length).toBe(6);
    expect(flaky.logs()).toMatch(/badNonce|nonce/i);
  });

  it("--dns exec:PATH speaks lego's exec protocol (present/cleanup FQDN VALUE) for a wildcard", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dns-exec-'));
    const log = path.join(dir, 'calls.log');
    const script = path.join(dir, 'dns-hook');
    await writeFile(
      script,
      `#!/bin/sh
echo "$1 $2 $3" >> "${log}"
case "$1" in
  present) curl -sf -X POST -d "{\\"host\\":\\"$2\\",\\"value\\":\\"$3\\"}" "$CHALLTESTSRV/set-txt" ;;
  cleanup) curl -sf -X POST -d "{\\"host\\":\\"$2\\"}" "$CHALLTESTSRV/clear-txt" ;;
esac
`,
      { mode: 0o755 },
    );
    const deps = await testCertDeps({ env: { PATH: process.env.PATH, CHALLTESTSRV: flaky.challengeManagementUrl } });
    const s = resolveIssueOptions({ domain: ['*.exec.test', 'exec.test'], email: 'ops@opsctl.test', directory: flaky.directoryUrl, caBundle: flaky.caBundle, dns: `exec:${script}` }, { setting } as any);
    expect(s.challenge).toEqual({ type: 'dns', provider: 'exec', program: script });
    const r = await issue(s, deps);
    expect(r.domains).toEqual(['*.exec.test', 'exec.test']);
    const calls = (await readFile(log, 'utf8')).trim().split('\n').map((l) => l.split(' '));
    expect(calls.filter((c) => c[0] === 'present').map((c) => c[1])).toEqual(['_acme-challenge.exec.test.', '_acme-challenge.exec.test.']);
    expect(calls.filter((c) => c[0] === 'cleanup')).toHaveLength(2);
    expect(calls.every((c) => /^[A-Za-z0-9_-]{43}$/.test(c[2]!))).toBe(true);
    expect(() => resolveIssueOptions({ domain: ['x.test'], email: 'a@b.cd', dns: 'bogus' }, { setting } as any)).toThrow(/Unknown --dns provider "bogus"/);
  });
});
