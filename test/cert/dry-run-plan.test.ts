import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCliInProcess } from '../support/cli.js';
import { seedCert } from '../support/cert-deps.js';
import { CertStore } from '../../src/commands/cert/store.js';

// Every cert command's --dry-run is the one plan shape and wording of src/lib/plan.ts, and changes nothing.
async function store() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'opsctl-certplan-'));
  const s = new CertStore(dir);
  await seedCert(s, ['plan.test'], { pushTargets: [{ type: 'heroku', app: 'plan-app' }] });
  return { dir, s };
}
const meta = (dir: string) => readFile(path.join(dir, 'live', 'plan.test', 'opsctl.json'), 'utf8');
const planLines = (stdout: string) => {
  const lines = stdout.trimEnd().split('\n');
  expect(lines.at(-1)).toBe('[dry run] nothing was changed');
  for (const l of lines.slice(0, -1)) expect(l).toMatch(/^\[dry run\] would \S.* — .+$/);
  return lines;
};

describe('cert --dry-run plans', () => {
  it('targets remove: the plan in text and as the shared JSON shape; the target stays', async () => {
    const { dir } = await store();
    const before = await meta(dir);
    const text = await runCliInProcess(['cert', 'targets', 'remove', 'heroku:plan-app', '-d', 'plan.test', '--cert-dir', dir, '--dry-run']);
    expect(text.code).toBe(0);
    expect(planLines(text.stdout)[0]).toContain('would forget heroku:plan-app — ');
    const json = await runCliInProcess(['cert', 'targets', 'remove', 'heroku:plan-app', '-d', 'plan.test', '--cert-dir', dir, '--dry-run', '--json']);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ dryRun: true, steps: [{ action: 'forget', target: 'heroku:plan-app' }] });
    expect(await meta(dir)).toBe(before);
  });

  it('revoke: one step naming the certificate and CA; nothing is asked of the CA', async () => {
    const { dir } = await store();
    const text = await runCliInProcess(['cert', 'revoke', '-d', 'plan.test', '--reason', 'keyCompromise', '--cert-dir', dir, '--dry-run']);
    expect(text.code).toBe(0);
    expect(planLines(text.stdout)[0]).toMatch(/^\[dry run\] would revoke plan\.test at \S+ — serial [0-9A-F]+, reason keycompromise/);
    const doc = JSON.parse((await runCliInProcess(['cert', 'revoke', '-d', 'plan.test', '--cert-dir', dir, '--dry-run', '--json'])).stdout);
    expect(doc).toMatchObject({ dryRun: true, revoked: false, steps: [{ action: 'revoke' }] });
  });

  it('rollback: points live/ back and lists the deliveries it would make; the links stay', async () => {
    const { dir, s } = await store();
    await seedCert(s, ['plan.test'], { pushTargets: [{ type: 'heroku', app: 'plan-app' }] });
    const link = path.join(dir, 'live', 'plan.test', 'cert.pem');
    const before = await readlink(link);
    const r = await runCliInProcess(['cert', 'rollback', '-d', 'plan.test', '--cert-dir', dir, '--dry-run']);
    expect(r.code).toBe(0);
    const lines = planLines(r.stdout);
    expect(lines[0]).toContain('would point ');
    expect(lines).toContain('[dry run] would deliver to heroku:plan-app — version 1');
    const doc = JSON.parse((await runCliInProcess(['cert', 'rollback', '-d', 'plan.test', '--cert-dir', dir, '--dry-run', '--json'])).stdout);
    expect(doc.steps.map((st: { action: string }) => st.action)).toEqual(['point', 'deliver to']);
    expect(await readlink(link)).toBe(before);
  });
});
