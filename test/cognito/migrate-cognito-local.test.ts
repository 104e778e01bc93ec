/**
 * The create and verify paths against cognito-local (a correctness peer), from
 * a realistic Devise table in real PostgreSQL: locked users end up disabled,
 * every user has a links row, a planted drift is found and repaired.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { AdminDisableUserCommand, AdminEnableUserCommand, AdminGetUserCommand, AdminUpdateUserAttributesCommand } from '@aws-sdk/client-cognito-identity-provider';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { startCognitoLocal, type CognitoLocal } from '../support/cognito-local.js';
import { createRealisticDevise } from '../support/cognito-devise.js';
import { migrate, sdkClient, tmpDir } from './helpers.js';

let pg: TestPostgres;
let cl: CognitoLocal;
let url: string;
beforeAll(async () => {
  [pg, cl] = await Promise.all([startPostgres(), startCognitoLocal()]);
  ({ url } = await createRealisticDevise(pg, 'devise_real'));
});
afterAll(async () => {
  await Promise.all([pg?.stop(), cl?.stop()]);
});

const attrs = async (poolId: string, username: string) => {
  const u = await cl.client.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
  return { enabled: u.Enabled, ...Object.fromEntries(u.UserAttributes!.map((a) => [a.Name!, a.Value!])) };
};

describe('a realistic Devise table into cognito-local', () => {
  it('creates what the plan said: locked users disabled, phones in E.164, IDN in punycode, links for all; verify finds and repairs drift', async () => {
    const poolId = await cl.createPool({ customAttributes: ['legacy_id'], schema: [{ Name: 'name', AttributeDataType: 'String', Mutable: true }] });
    const client = sdkClient(cl.endpoint);
    const dir = tmpDir();
    const dry = await migrate({ userPoolId: poolId, from: url, phoneCountry: 'GB', dryRun: true }, client, dir);
    if (dry.kind !== 'plan') throw new Error('expected a plan');
    expect(dry.plan).toMatchObject({ total: 9, valid: 7, toDisable: 2, disabledBy: { locked_at: 2 }, unconfirmed: 1 });
    // Row 7's "n/a" is no phone number, so KEN@example.com (row 8) is the one ken@example.com, not a duplicate.
    expect(Object.keys(dry.plan.rejectReasons).sort()).toEqual(['email too long/short', 'phone_number is not a phone number Cognito accepts (E.164 like +14155550100)']);

    const res = await migrate({ userPoolId: poolId, from: url, phoneCountry: 'GB' }, client, dir);
    if (res.kind !== 'summary') throw new Error('expected a summary');
    expect(res.summary).toMatchObject({ created: 7, disabled: 2, failed: 0, links: 7 });
    expect(await attrs(poolId, 'grace@example.com')).toMatchObject({ enabled: false });
    expect(await attrs(poolId, 'mia@example.com')).toMatchObject({ enabled: false });
    expect(await attrs(poolId, 'ada@example.com')).toMatchObject({ enabled: true, phone_number: '+14155550100', email_verified: 'true', 'custom:legacy_id': '1', name: 'Ada' });
    expect(await attrs(poolId, 'linus@example.com')).toMatchObject({ phone_number: '+442079460958', email_verified: 'false' });
    expect(await attrs(poolId, 'anne@xn--bcher-kva.de')).toMatchObject({ email: 'anne@xn--bcher-kva.de' });
    expect(await attrs(poolId, 'ken@example.com')).toMatchObject({ 'custom:legacy_id': '8' });
    const links = readFileSync(res.summary.linksFile, 'utf8').trim().split('\n').slice(1);
    expect(links).toHaveLength(7);
    for (const line of links) {
      const [, username, sub] = line.split(',');
      expect((await attrs(poolId, username!) as Record<string, unknown>).sub).toBe(sub);
    }

    const clean = await migrate({ userPoolId: poolId, from: url, phoneCountry: 'GB', verify: true }, client, dir);
    if (clean.kind !== 'verify') throw new Error('expected verify');
    expect(clean.verify).toMatchObject({ ok: true, matching: 7 });

    await cl.client.send(new AdminUpdateUserAttributesCommand({ UserPoolId: poolId, Username: 'ada@example.com', UserAttributes: [{ Name: 'name', Value: 'Mallory' }] }));
    await cl.client.send(new AdminEnableUserCommand({ UserPoolId: poolId, Username: 'grace@example.com' }));
    await cl.client.send(new AdminDisableUserCommand({ UserPoolId: poolId, Username: 'anne@xn--bcher-kva.de' }));
    const drift = await migrate({ userPoolId: poolId, from: url, phoneCountry: 'GB', verify: true }, client, dir);
    if (drift.kind !== 'verify') throw new Error('expected verify');
    expect(drift.verify).toMatchObject({ ok: false, drift: { attribute: 1, enabled: 2, missing: 0 }, attributeDrift: { name: 1 } });
    const repaired = await migrate({ userPoolId: poolId, from: url, phoneCountry: 'GB', verify: true, repair: true }, client, dir);
    if (repaired.kind !== 'verify') throw new Error('expected verify');
    expect(repaired.verify).toMatchObject({ ok: true, repaired: { attribute: 1, enabled: 2 } });
    const after = await migrate({ userPoolId: poolId, from: url, phoneCountry: 'GB', verify: true }, client, dir);
    if (after.kind !== 'verify') throw new Error('expected verify');
    expect(after.verify).toMatchObject({ ok: true, matching: 7 });
    expect(await attrs(poolId, 'ada@example.com')).toMatchObject({ name: 'Ada' });
    expect(await attrs(poolId, 'grace@example.com')).toMatchObject({ enabled: false });
  }, 60_000);
});
