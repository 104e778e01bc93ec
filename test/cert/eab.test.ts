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
