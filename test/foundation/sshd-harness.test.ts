import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { recordingCommand, startSshd, type TestSshd } from '../support/sshd.js';
import { missingTools } from '../support/tools.js';

const skip = missingTools('/usr/sbin/sshd', 'ssh');

describe.skipIf(skip)('test harness: real sshd', () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
    await recordingCommand(sshd.binDir, 'docker', { stdout: 'ok\n', exitCode: 3 });
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  it('runs recording commands on the far side via the ssh config alias', async () => {
    const r = spawnSync('ssh', ['-F', sshd.sshConfigPath, sshd.alias, 'docker', 'exec', "'a b'"], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ok\n');
    expect(r.status).toBe(3);
    expect(await sshd.calls()).toEqual([{ name: 'docker', argv: ['exec', 'a b'], tty: false }]);
  });
});
