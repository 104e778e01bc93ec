import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { run as issue, resolveIssueOptions } from '../../src/commands/cert/issue.js';
import { startPebble, type TestPebble } from '../support/cert-pebble.js';
import { testCertDeps } from '../support/cert-deps.js';
import { missingTools } from '../support/tools.js';

const setting = (_s: string, _k: string, flag: any, fallback?: any) => flag ?? fallback;

// A wrong EAB pair is refused at newAccount, before any challenge: the message must say so, not blame the challenge.
describe.skipIf(missingTools('/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', 'openssl'))('a CA refusing the external account binding', () => {
  const hmacKey = randomBytes(32).toString('base64url');
  let pebble: TestPebble;
  beforeAll(async () => {
    pebble = await startPebble({ eab: { 'kid-right': hmacKey } });
  });
  afterAll(async () => {
    await pebble?.stop();
  });
  const settings = (extra: Record<string, unknown>) =>
    resolveIssueOptions({ domain: ['eab-wrong.test'], email: 'ops@opsctl.test', directory: pebble.directoryUrl, caBundle: pebble.caBundle, standalone: true, httpPort: pebble.httpPort, ...extra }, { setting } as any);

  it.each([
    ['a wrong HMAC key', { eabKid: 'kid-right', eabHmacKey: randomBytes(32).toString('base64url') }],
    ['an unknown kid', { eabKid: 'kid-unknown', eabHmacKey: hmacKey }],
  ])('%s: an EAB usage error naming the flags, without the key', async (_what, eab) => {
    const deps = await testCertDeps({ httpPort: pebble.httpPort });
    const err = await issue(settings(eab), deps).then(() => undefined, (e: unknown) => e as { code: string; exitCode: number; message: string; hint: string });
    expect(err).toMatchObject({ code: 'acme-eab', exitCode: 2 });
    expect(err!.message).not.toMatch(/could not validate/);
    expect(err!.hint).toContain('--eab-hmac-key');
    expect(`${err!.message} ${err!.hint}`).not.toContain(eab.eabHmacKey);
  });
});
