import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Resolver } from 'node:dns/promises';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run as issue, resolveIssueOptions } from '../../src/commands/cert/issue.js';
import { nsupdateScript, rfc2136Settings } from '../../src/commands/cert/dns-rfc2136.js';
import { startPebble, type TestPebble } from '../support/cert-pebble.js';
import { startBind, type TestBind } from '../support/cert-bind.js';
import { startCloudflare, type CloudflareStandIn } from '../support/cert-cloudflare.js';
import { testCertDeps, verifiesTo } from '../support/cert-deps.js';
import { missingTools } from '../support/tools.js';

const setting = (_s: string, _k: string, flag: any, fallback?: any) => flag ?? fallback;

async function txt(server: string, name: string): Promise<string[]> {
  const r = new Resolver();
  r.setServers([server]);
  return r.resolveTxt(name).then((rows) => rows.map((c) => c.join('')), () => []);
}

describe.skipIf(missingTools('/usr/bin/pebble', '/usr/sbin/named', '/usr/sbin/tsig-keygen', 'nsupdate', 'openssl'))('--dns rfc2136 against a real BIND 9', () => {
  let bind: TestBind;
  let pebble: TestPebble;
  beforeAll(async () => {
    bind = await startBind('rfc.test');
    pebble = await startPebble({ dnsServer: `127.0.0.1:${bind.port}` });
  });
  afterAll(async () => {
    await pebble?.stop();
    await bind?.stop();
  });

  it('a wildcard through TSIG-signed updates (certbot-dns-rfc2136 credentials); the records are gone afterwards', async () => {
    const deps = await testCertDeps({ waits: { dnsTimeoutMs: 20_000, dnsIntervalMs: 100 } });
    const s = resolveIssueOptions({ domain: ['*.rfc.test', 'rfc.test'], email: 'ops@opsctl.test', directory: pebble.directoryUrl, caBundle: pebble.caBundle, dns: 'rfc2136', rfc2136Credentials: bind.credentialsFile }, { setting } as any);
    expect(s.challenge).toEqual({ type: 'dns', provider: 'rfc2136', credentials: bind.credentialsFile });
    const r = await issue(s, deps);
    expect(r.domains).toEqual(['*.rfc.test', 'rfc.test']);
    expect(verifiesTo(r.files.fullchain ? await (await import('node:fs/promises')).readFile(r.files.fullchain, 'utf8') : '', await pebble.root())).toBe(true);
    expect(await txt(`127.0.0.1:${bind.port}`, '_acme-challenge.rfc.test')).toEqual([]);
    expect(deps.logs.some((l) => /waiting until it serves them/.test(l))).toBe(true);
  });

  it('a wrong TSIG secret: one line naming the server, a hint about the key; nothing stored', async () => {
    const deps = await testCertDeps();
    const bad = path.join(path.dirname(bind.credentialsFile), 'bad.ini');
    await writeFile(bad, `dns_rfc2136_server = 127.0.0.1:${bind.port}\ndns_rfc2136_name = ${bind.keyName}\ndns_rfc2136_secret = ${Buffer.alloc(32, 7).toString('base64')}\n`);
    const s = resolveIssueOptions({ domain: ['bad.rfc.test'], email: 'ops@opsctl.test', directory: pebble.directoryUrl, caBundle: pebble.caBundle, dns: 'rfc2136', rfc2136Credentials: bad }, { setting } as any);
    await expect(issue(s, deps)).rejects.toMatchObject({ code: 'rfc2136-failed', message: expect.stringMatching(new RegExp(`^DNS UPDATE to 127\\.0\\.0\\.1:${bind.port} failed: `)), hint: expect.stringContaining('TSIG key') });
    expect(await deps.store.list()).toEqual([]);
  });

  it('settings from lego\'s variables; the secret goes on stdin, never argv', async () => {
    const s = await rfc2136Settings(undefined, { RFC2136_NAMESERVER: '10.0.0.53:5353', RFC2136_TSIG_KEY: 'k', RFC2136_TSIG_SECRET: 'c2VjcmV0', RFC2136_TSIG_ALGORITHM: 'hmac-sha512.' });
    expect(s).toEqual({ server: '10.0.0.53', port: 5353, keyName: 'k', secret: 'c2VjcmV0', algorithm: 'hmac-sha512' });
    expect(nsupdateScript(s, 'add', [{ name: '_acme-challenge.a.test', value: 'V' }])).toBe('server 10.0.0.53 5353\nkey hmac-sha512:k c2VjcmV0\nupdate add _acme-challenge.a.test. 60 IN TXT "V"\nsend\n');
    await expect(rfc2136Settings(undefined, {})).rejects.toMatchObject({ exitCode: 2, code: 'rfc2136-settings' });
  });
});

describe.skipIf(missingTools('/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', 'openssl'))('--dns cloudflare (v4 API stand-in)', () => {
  let pebble: TestPebble;
  let cf: CloudflareStandIn;
  beforeAll(async () => {
    pebble = await startPebble();
    cf = await startCloudflare('cf.test', pebble);
  });
  afterAll(async () => {
    await cf?.stop();
    await pebble?.stop();
  });

  it('finds the zone, creates the TXT records, waits for them on the name servers, deletes them', async () => {
    const deps = await testCertDeps({ env: { CLOUDFLARE_DNS_API_TOKEN: cf.token, CLOUDFLARE_API_URL: cf.apiUrl }, authoritativeServers: async (ns) => (ns.length ? [pebble.dnsServer] : []), waits: { dnsTimeoutMs: 10_000, dnsIntervalMs: 50 } });
    const s = resolveIssueOptions({ domain: ['*.www.cf.test'], email: 'ops@opsctl.test', directory: pebble.directoryUrl, caBundle: pebble.caBundle, dns: 'cloudflare' }, { setting } as any);
    const r = await issue(s, deps);
    expect(r.domains).toEqual(['*.www.cf.test']);
    expect(cf.requests.map((q) => `${q.method} ${q.path.replace(/[0-9a-f]{32}/g, 'ID')}`)).toEqual(['GET /client/v4/zones?name=www.cf.test', 'GET /client/v4/zones?name=cf.test', 'POST /client/v4/zones/ID/dns_records', 'DELETE /client/v4/zones/ID/dns_records/ID']);
    expect(cf.records.size).toBe(0);
  });

  it('a token without access: one line with what to do', async () => {
    const deps = await testCertDeps({ env: { CLOUDFLARE_DNS_API_TOKEN: 'wrong', CLOUDFLARE_API_URL: cf.apiUrl } });
    const s = resolveIssueOptions({ domain: ['x.cf.test'], email: 'ops@opsctl.test', directory: pebble.directoryUrl, caBundle: pebble.caBundle, dns: 'cloudflare' }, { setting } as any);
    await expect(issue(s, deps)).rejects.toMatchObject({ code: 'cloudflare-failed', message: 'Cloudflare GET /zones failed: 10000: Authentication error', hint: expect.stringContaining('Zone:DNS:Edit') });
  });
});
