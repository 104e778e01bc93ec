import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { writeFileAtomic, writeFilesAtomic } from '../../src/lib/fs.js';
import { formatCommand, processRunner, shellQuote } from '../../src/lib/process.js';
import { createPrompter } from '../../src/lib/prompt.js';
import { translateAwsError } from '../../src/lib/aws-errors.js';
import { createAwsClient, endpointEnvName } from '../../src/lib/aws.js';
import { Output, colorEnabled, table } from '../../src/lib/output.js';
import { memoryStreams } from '../support/cli.js';

describe('writeFileAtomic', () => {
  it('writes with the requested mode and leaves no temp files', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'atomic-'));
    const file = path.join(dir, 'sub', 'key.pem');
    await writeFileAtomic(file, 'secret', { mode: 0o600 });
    expect(readFileSync(file, 'utf8')).toBe('secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    await writeFileAtomic(file, 'newer', { mode: 0o600 });
    expect(readFileSync(file, 'utf8')).toBe('newer');
    expect(readdirSync(path.dirname(file))).toEqual(['key.pem']);
  });

  it('replaces the mode of an existing world-readable file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'atomic-'));
    const file = path.join(dir, 'state.json');
    writeFileSync(file, 'old', { mode: 0o644 });
    await writeFileAtomic(file, 'new', { mode: 0o600 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('writeFilesAtomic', () => {
  it('replaces a set of files together, each with its mode', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'atomic-set-'));
    await writeFilesAtomic([
      { file: path.join(dir, 'privkey.pem'), data: 'key-2', mode: 0o600 },
      { file: path.join(dir, 'cert.pem'), data: 'cert-2', mode: 0o644 },
    ]);
    expect(readFileSync(path.join(dir, 'privkey.pem'), 'utf8')).toBe('key-2');
    expect(statSync(path.join(dir, 'privkey.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'cert.pem')).mode & 0o777).toBe(0o644);
  });

  it('if any file cannot be staged, no target is touched and no temp file is left', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'atomic-set-'));
    writeFileSync(path.join(dir, 'privkey.pem'), 'key-1', { mode: 0o600 });
    writeFileSync(path.join(dir, 'blocker'), 'a file where a directory should be');
    await expect(
      writeFilesAtomic([
        { file: path.join(dir, 'privkey.pem'), data: 'key-2', mode: 0o600 },
        { file: path.join(dir, 'blocker', 'cert.pem'), data: 'cert-2' },
      ]),
    ).rejects.toThrow();
    expect(readFileSync(path.join(dir, 'privkey.pem'), 'utf8')).toBe('key-1');
    expect(readdirSync(dir).sort()).toEqual(['blocker', 'privkey.pem']);
  });
});

describe('process runner', () => {
  it('quotes hostile arguments so a POSIX shell sees them unchanged', async () => {
    const hostile = ['a b', "it's", '$(touch /tmp/pwned)', 'x;y', 'line1\nline2', '', '"q"', '`id`'];
    const script = `printf '%s\\0' ${hostile.map(shellQuote).join(' ')}`;
    const res = await processRunner.run({ file: 'sh', args: ['-c', script] });
    expect(res.stdout.split('\0').slice(0, -1)).toEqual(hostile);
  });

  it('never uses a shell itself: metacharacters reach the program as data', async () => {
    const res = await processRunner.run({ file: 'printf', args: ['%s', '$(echo hi); echo no'] });
    expect(res.stdout).toBe('$(echo hi); echo no');
    expect(formatCommand({ file: 'ssh', args: ['host', 'a b'] })).toBe("ssh host 'a b'");
  });

  it('reports exit codes and a missing program clearly', async () => {
    expect((await processRunner.run({ file: 'sh', args: ['-c', 'exit 7'] })).exitCode).toBe(7);
    await expect(processRunner.run({ file: 'definitely-not-a-program-xyz', args: [] })).rejects.toThrow(/is not installed/);
  });
});

describe('prompts', () => {
  it('refuse when stdin is not a TTY and name the flag to pass', async () => {
    const err = new PassThrough();
    const p = createPrompter({ stdin: Object.assign(new PassThrough(), { isTTY: false }), stderr: err });
    await expect(p.pick('Which task?', [{ label: 'a', value: 1 }, { label: 'b', value: 2 }], { flag: '--task ID', candidates: 'a, b' })).rejects.toMatchObject({
      exitCode: 2,
      hint: 'pass --task ID to choose',
    });
    await expect(p.confirm('Go?', { flag: '--yes' })).rejects.toThrow(/not a terminal/);
  });

  it('a single choice needs no question', async () => {
    const p = createPrompter({ stdin: new PassThrough(), stderr: new PassThrough() });
    expect(await p.pick('Which?', [{ label: 'only', value: 'x' }], { flag: '--x' })).toBe('x');
  });

  it('asks on a TTY: typing filters the choices, Enter takes the highlighted one', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const stderr = new PassThrough();
    let shown = '';
    stderr.on('data', (d) => (shown += d));
    const p = createPrompter({ stdin, stderr });
    const answer = p.pick('Which task?', [{ label: 'first', value: 'a' }, { label: 'second', value: 'b' }], { flag: '--task' });
    // Wait for what the picker draws, not for fixed times: first both choices, then only the filtered one.
    const until = async (ready: () => boolean) => {
      for (let i = 0; i < 1000 && !ready(); i++) await new Promise((r) => setTimeout(r, 5));
    };
    await until(() => shown.includes('second'));
    const before = shown.length;
    stdin.write('sec');
    const lastFrame = () => shown.slice(before).split('Which task?').at(-1) ?? '';
    await until(() => lastFrame().includes('sec') && lastFrame().includes('second') && !lastFrame().includes('first'));
    stdin.write('\r');
    expect(await answer).toBe('b');
  });
});

describe('AWS error translation', () => {
  const named = (name: string, message: string) => Object.assign(new Error(message), { name });
  it('missing credentials', () => {
    const e = translateAwsError(named('CredentialsProviderError', 'Could not load credentials from any providers'));
    expect(e?.message).toBe('No AWS credentials found.');
    expect(e?.exitCode).toBe(1);
  });
  it('expired SSO names the login command with the profile', () => {
    const e = translateAwsError(named('CredentialsProviderError', 'The SSO session associated with this profile has expired or is otherwise invalid. To refresh this SSO session run aws sso login'), { profile: 'prod' });
    expect(e?.hint).toBe('run `aws sso login --profile prod` and try again');
  });
  it('AccessDenied names the missing action', () => {
    const e = translateAwsError(named('AccessDeniedException', 'User: arn:aws:iam::1:user/x is not authorized to perform: ecs:ListTasks on resource: *'));
    expect(e?.message).toContain('ecs:ListTasks');
    const e2 = translateAwsError(named('UnauthorizedOperation', 'You are not authorized to perform this operation.'), { action: 'ec2:DescribeInstances' });
    expect(e2?.message).toContain('ec2:DescribeInstances');
  });
  it('unknown region', () => {
    const e = translateAwsError(Object.assign(new Error('getaddrinfo ENOTFOUND ecs.mars-1.amazonaws.com'), { code: 'ENOTFOUND' }), { region: 'mars-1' });
    expect(e?.message).toContain('"mars-1"');
    expect(e?.hint).toMatch(/--region/);
  });
  it('an endpoint that does not answer is named, with its override variable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const e = translateAwsError(refused, { action: 'cognito-idp:DescribeUserPool', env: { AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: 'http://127.0.0.1:1' } });
    expect(e?.message).toBe('Cannot reach the AWS Cognito endpoint http://127.0.0.1:1 (cognito-idp:DescribeUserPool): connect ECONNREFUSED 127.0.0.1:1');
    expect(e?.hint).toBe('check AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER / AWS_ENDPOINT_URL');
    expect(e?.code).toBe('aws-unreachable');
    const plain = translateAwsError(Object.assign(new Error('timed out'), { name: 'TimeoutError' }), { action: 'ec2:DescribeInstances', env: {} });
    expect(plain?.message).toBe('Cannot reach the AWS EC2 endpoint (ec2:DescribeInstances): timed out');
    expect(plain?.hint).toMatch(/network/);
  });

  it('leaves other errors alone', () => {
    expect(translateAwsError(named('ServiceNotFoundException', 'Service not found.'))).toBeUndefined();
  });
});

describe('AWS client factory', () => {
  it('takes the endpoint from AWS_ENDPOINT_URL_<SERVICE>', async () => {
    expect(endpointEnvName('Cognito Identity Provider')).toBe('AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER');
    expect(endpointEnvName('Route 53')).toBe('AWS_ENDPOINT_URL_ROUTE_53');
    class Fake { constructor(readonly config: Record<string, unknown>) {} }
    const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'aws-')), 'config');
    writeFileSync(config, '[profile p]\nregion = eu-west-1\n');
    const c = createAwsClient(Fake, 'ECS', { region: 'eu-west-1', profile: 'p' }, { AWS_ENDPOINT_URL_ECS: 'http://127.0.0.1:1', AWS_CONFIG_FILE: config });
    expect(c.config).toMatchObject({ region: 'eu-west-1', profile: 'p', endpoint: 'http://127.0.0.1:1', retryMode: 'adaptive' });
  });
});

describe('output', () => {
  it('data to stdout, logs to stderr, colour only on a TTY without NO_COLOR', () => {
    const m = memoryStreams(false);
    const out = new Output(m.streams, {});
    out.line('data');
    out.info('progress');
    out.error('bad', 'do this');
    expect(m.stdout).toBe('data\n');
    expect(m.stderr).toBe('progress\nerror: bad\nhint: do this\n');
    expect(colorEnabled({ isTTY: true }, undefined, {})).toBe(true);
    expect(colorEnabled({ isTTY: true }, undefined, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled({ isTTY: true }, false, {})).toBe(false);
    expect(colorEnabled({ isTTY: false }, undefined, {})).toBe(false);
  });
  it('aligns tables', () => {
    expect(table(['A', 'BB'], [['xxx', 1], ['y', 22]])).toBe('A    BB\nxxx  1\ny    22');
  });
});
