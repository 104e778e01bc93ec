import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Route53Client } from '@aws-sdk/client-route-53';
import { run, resolveIssueOptions } from '../../src/commands/cert/issue.js';
import { createHerokuApi } from '../../src/commands/cert/heroku.js';
import { route53Solver } from '../../src/commands/cert/route53.js';
import { webrootSolver } from '../../src/commands/cert/http01.js';
import { startPebble, type TestPebble } from '../support/cert-pebble.js';
import { startHeroku, type HerokuStandIn } from '../support/cert-heroku.js';
import { startRoute53, type Route53StandIn } from '../support/cert-route53.js';
import { testCertDeps, verifiesTo } from '../support/cert-deps.js';
import { missingTools } from '../support/tools.js';

const skip = missingTools('/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', 'openssl');
const setting = (_s: string, _k: string, flag: any, fallback?: any) => flag ?? fallback;

describe.skipIf(skip)('cert issue: Heroku app and Route 53 challenges against Pebble', () => {
  let pebble: TestPebble;
  let heroku: HerokuStandIn;
  let r53: Route53StandIn;
  let root: string;
  beforeAll(async () => {
    pebble = await startPebble();
    root = await pebble.root();
    heroku = await startHeroku({ appPort: pebble.httpPort, restartDelayMs: 400 });
    r53 = await startRoute53(pebble, [
      { id: 'ZPRIVATE', name: 'dns.test.', private: true },
      { id: 'ZOTHER', name: 'other.test.' },
      { id: 'Z1DNS', name: 'dns.test.' },
    ]);
  });
  afterAll(async () => {
    await heroku?.stop();
    await r53?.stop();
    await pebble?.stop();
  });

  const settings = (extra: Record<string, any>) => resolveIssueOptions({ email: 'ops@opsctl.test', directory: pebble.directoryUrl, caBundle: pebble.caBundle, ...extra }, { setting } as any);
  const herokuDeps = (token = heroku.token) => testCertDeps({ httpPort: pebble.httpPort, herokuApi: async () => createHerokuApi({ token, baseUrl: heroku.apiUrl }) });

  it('--heroku-app: sets the config vars, waits for the app to answer after its restart, one domain at a time, then removes them', async () => {
    const deps = await herokuDeps();
    heroku.configHistory.length = 0;
    const r = await run(settings({ domain: ['app.test', 'www.app.test'], herokuApp: heroku.appName }), deps);
    expect(verifiesTo(await readFile(r.files.fullchain!, 'utf8'), root)).toBe(true);
    // set, removed, set, removed: the vars hold one answer at a time
    expect(heroku.configHistory.map((h) => (h.LETSENCRYPT_KEY === null ? 'remove' : 'set'))).toEqual(['set', 'remove', 'set', 'remove']);
    expect(heroku.configHistory[0]!.LETSENCRYPT_CHALLENGE).toMatch(new RegExp(`^${heroku.configHistory[0]!.LETSENCRYPT_KEY}\\.`));
    expect(heroku.configVars).toEqual({ DATABASE_URL: 'postgres://x' });
    // opsctl polled before the restart finished (404s), then saw the answer
    expect(heroku.appHits.length).toBeGreaterThan(2);
    const meta = JSON.parse(await readFile(r.files.fullchain!.replace('fullchain.pem', 'opsctl.json'), 'utf8'));
    expect(meta.challenge).toEqual({ type: 'heroku', app: heroku.appName });
  });

  it('--heroku-app: an app that never answers fails with what it got, and the vars are still removed', async () => {
    const quiet = await startHeroku({ appPort: undefined, appName: 'quiet-app' });
    try {
      const deps = await testCertDeps({ httpPort: pebble.httpPort, herokuApi: async () => createHerokuApi({ token: quiet.token, baseUrl: quiet.apiUrl }), waits: { herokuTimeoutMs: 600, herokuIntervalMs: 100 } });
      // the main stand-in's app holds the port and answers 404 for unknown tokens
      await expect(run(settings({ domain: ['quiet.test'], herokuApp: 'quiet-app' }), deps)).rejects.toMatchObject({
        code: 'heroku-challenge-timeout',
        message: expect.stringMatching(/did not answer the challenge within 1s: http:\/\/quiet\.test:\d+\/\.well-known\/acme-challenge\/\S+ gave HTTP 404/),
      });
      expect(quiet.configHistory.at(-1)).toEqual({ LETSENCRYPT_KEY: null, LETSENCRYPT_CHALLENGE: null });
      expect(quiet.configVars.LETSENCRYPT_KEY).toBeUndefined();
    } finally {
      await quiet.stop();
    }
  });

  it('--heroku-app interrupted (Ctrl-C) while waiting for the app: exits as interrupted and still removes the vars', async () => {
    const quiet = await startHeroku({ appName: 'slow-app' });
    const controller = new AbortController();
    try {
      const deps = await testCertDeps({ httpPort: pebble.httpPort, signal: controller.signal, herokuApi: async () => createHerokuApi({ token: quiet.token, baseUrl: quiet.apiUrl }), waits: { herokuTimeoutMs: 60_000, herokuIntervalMs: 50 } });
      // Ctrl-C once the vars are set and opsctl waits for the app (a fixed delay raced the order under load).
      const poll = setInterval(() => quiet.configHistory.length > 0 && controller.abort(), 20);
      await expect(run(settings({ domain: ['slow.test'], herokuApp: 'slow-app' }), deps))
        .rejects.toMatchObject({ code: 'interrupted', exitCode: 130 })
        .finally(() => clearInterval(poll));
      expect(quiet.configVars.LETSENCRYPT_KEY).toBeUndefined();
      expect(quiet.configHistory.at(-1)).toEqual({ LETSENCRYPT_KEY: null, LETSENCRYPT_CHALLENGE: null });
    } finally {
      await quiet.stop();
    }
  });

  it('--heroku-app with a bad API key: a one-line 401 error before anything is ordered', async () => {
    const deps = await herokuDeps('wrong');
    const before = heroku.requests.length;
    await expect(run(settings({ domain: ['bad.app.test'], herokuApp: heroku.appName }), deps)).rejects.toMatchObject({ code: 'heroku-unauthorized', message: expect.stringContaining('401') });
    expect(heroku.requests.length).toBe(before + 1);
  });

  it('--dns route53: wildcard + apex in one TXT record set, INSYNC awaited, records deleted afterwards', async () => {
    // The production path: the shared AWS client factory, endpoint from AWS_ENDPOINT_URL_ROUTE_53, credentials from the environment.
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'AKIDTEST';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
    const deps = await testCertDeps({ env: { AWS_ENDPOINT_URL_ROUTE_53: r53.endpoint }, aws: {} });
    const r = await run(settings({ domain: ['*.dns.test', 'dns.test'], dns: 'route53' }), deps).finally(() => {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    });
    expect(deps.logs).toContain('waiting for Route 53 to report the change INSYNC');
    expect(r.name).toBe('dns.test');
    expect(verifiesTo(await readFile(r.files.fullchain!, 'utf8'), root)).toBe(true);
    const upsert = r53.changes.find((c) => c.action === 'UPSERT')!;
    expect(upsert).toMatchObject({ zone: 'Z1DNS', name: '_acme-challenge.dns.test' });
    expect(upsert.values).toHaveLength(2);
    expect(r53.changes.at(-1)).toMatchObject({ action: 'DELETE', name: '_acme-challenge.dns.test', values: upsert.values });
    expect(r53.records.size).toBe(0);
    expect(r53.getChangeCalls).toBeGreaterThanOrEqual(2);
  });

  it('--dns route53 with no matching zone: a usage error naming the zones it saw', async () => {
    const deps = await testCertDeps({
      route53Solver: async (zoneId, wait) => route53Solver(new Route53Client({ endpoint: r53.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } }), { region: 'us-east-1' }, zoneId, wait, () => {}),
    });
    await expect(run(settings({ domain: ['nozone.example'], dns: 'route53' }), deps)).rejects.toMatchObject({ code: 'route53-no-zone', exitCode: 2, hint: expect.stringContaining('other.test.') });
  });

  it('wildcards with an HTTP-01 method are refused up front', async () => {
    const deps = await testCertDeps();
    await expect(run(settings({ domain: ['*.web.test'], standalone: true, httpPort: pebble.httpPort }), deps)).rejects.toMatchObject({ code: 'wildcard-needs-dns', exitCode: 2 });
  });
});

describe('challenge tokens from the ACME server', () => {
  it('--webroot refuses a token that is not base64url (a path from a hostile --directory) and writes nothing', async () => {
    const parent = await mkdtemp(path.join(os.tmpdir(), 'webroot-parent-'));
    const webroot = path.join(parent, 'www');
    await mkdir(webroot);
    const solver = webrootSolver(webroot, false, () => {});
    const item = { domain: 'evil.test', wildcard: false, token: '../../escaped', keyAuthorization: 'x.y', dnsValue: '' };
    await expect(solver.present([item])).rejects.toMatchObject({ code: 'acme-bad-token', exitCode: 1 });
    await solver.cleanup([item]);
    expect(await readdir(parent)).toEqual(['www']);
    expect(await readdir(webroot)).toEqual([]);
  });
});
