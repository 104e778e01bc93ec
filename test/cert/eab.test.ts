import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { run as issue, resolveIssueOptions } from '../../src/commands/cert/issue.js';
import { startPebble, type TestPebble } from '../support/cert-pebble.js';
import { testCertDeps } from '../support/cert-deps.js';
import { missingTools } from '../support/tools.js';

const setting = (_s: string, _k: string, flag: any, fallback?: any) => flag ?? fallback;

describe.skipIf(missingTools('/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', 'openssl'))('external account binding (Pebble with externalAccountBindingRequired)', () => {
  const hmacKey = randomBytes(32).toString('base64url');
  let pebble: TestPebble;
  beforeAll(async () => {
    pebble = await startPebble({ eab: { 'kid-opsctl': hmacKey } });
  });
  afterAll(async () => {
    await pebble?.stop();
  });
  const settings = (extra: Record<string, unknown>) =>
    resolveIssueOptions({ domain: ['eab.test'], email: 'ops@opsctl.test', directory: pebble.directoryUrl, caBundle: pebble.caBundle, standalone: true, httpPort: pebble.httpPort, ...extra }, { setting } as any);

  it('without EAB: a usage error naming the flags; with --eab-kid/--eab-hmac-key: issued (the key is not stored)', async () => {
    const deps = await testCertDeps({ httpPort: pebble.httpPort });
    await expect(issue(settings({}), deps)).rejects.toMatchObject({ code: 'acme-eab', exitCode: 2, hint: expect.stringContaining('--eab-kid and --eab-hmac-key') });
    const r = await issue(settings({ eabKid: 'kid-opsctl', eabHmacKey: hmacKey }), deps);
    expect(r.skipped).toBe(false);
    const { readFile } = await import('node:fs/promises');
    const meta = await readFile(`${r.dir}/opsctl.json`, 'utf8');
    expect(meta).not.toContain(hmacKey);
    expect(() => settings({ eabKid: 'kid-opsctl' })).toThrow(/both --eab-kid and --eab-hmac-key/);
  });
});

describe.skipIf(missingTools('/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', 'openssl'))('--preferred-chain (Pebble with alternate roots)', () => {
  let pebble: TestPebble;
  beforeAll(async () => {
    pebble = await startPebble({ alternateRoots: 1 });
  });
  afterAll(async () => {
    await pebble?.stop();
  });

  it('picks the chain whose top certificate is issued by the named root, and remembers it', async () => {
    const { X509Certificate } = await import('node:crypto');
    const { readFile } = await import('node:fs/promises');
    const { verifiesTo } = await import('../support/cert-deps.js');
    const alt = await pebble.rootN(1);
    const altName = /CN=([^\n,]+)/.exec(new X509Certificate(alt).subject)![1]!;
    const deps = await testCertDeps({ httpPort: pebble.httpPort });
    const s = resolveIssueOptions({ domain: ['chain.test'], email: 'ops@opsctl.test', directory: pebble.directoryUrl, caBundle: pebble.caBundle, standalone: true, httpPort: pebble.httpPort, preferredChain: altName }, { setting } as any);
    const r = await issue(s, deps);
    const fullchain = await readFile(r.files.fullchain!, 'utf8');
    expect(verifiesTo(fullchain, alt)).toBe(true);
    expect(verifiesTo(fullchain, await pebble.root())).toBe(false);
    expect((await deps.store.get('chain.test')).meta.preferredChain).toBe(altName);
  });
});
