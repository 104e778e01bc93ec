import { describe, expect, it } from 'vitest';
import { report } from '../../src/report.js';
import { OpsError } from '../../src/lib/errors.js';
import { Output } from '../../src/lib/output.js';
import { memoryStreams } from '../support/cli.js';

describe('error reporting', () => {
  it('an OpsError prints message and hint, returns its exit code', () => {
    const m = memoryStreams();
    expect(report(new OpsError('Service web not found.', { hint: 'did you mean webapp?', exitCode: 1 }), new Output(m.streams), false)).toBe(1);
    expect(m.stderr).toBe('error: Service web not found.\nhint: did you mean webapp?\n');
    expect(m.stdout).toBe('');
  });

  it('an unexpected error is one line plus "re-run with --debug", no stack', () => {
    const m = memoryStreams();
    const err = new TypeError("Cannot read properties of undefined (reading 'x')\n    more detail");
    expect(report(err, new Output(m.streams), false)).toBe(1);
    expect(m.stderr).toBe("error: unexpected error: Cannot read properties of undefined (reading 'x')\nhint: re-run with --debug for details\n");
  });

  it('with --debug the stack is shown', () => {
    const m = memoryStreams();
    report(new Error('boom'), new Output(m.streams, { debug: true }), true);
    expect(m.stderr).toMatch(/\[debug\] Error: boom\n\s+at /);
  });

  it('an AWS SDK error no command handled still gets the shared translation', () => {
    const m = memoryStreams();
    const err = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(report(err, new Output(m.streams), false)).toBe(1);
    expect(m.stderr).toContain('error: No AWS credentials found.');
  });

  it('--json: the error is one JSON document on stdout', () => {
    const m = memoryStreams();
    report(new OpsError('bad row', { exitCode: 2, code: 'bad-input', hint: 'fix it' }), new Output(m.streams, { json: true }), false);
    expect(JSON.parse(m.stdout)).toEqual({ error: { code: 'bad-input', message: 'bad row', hint: 'fix it', exitCode: 2 } });
  });
});
