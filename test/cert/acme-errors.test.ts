import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdtemp, readdir, writeFile, mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { run, resolveIssueOptions } from '../../src/commands/cert/issue.js';
import { translateAcmeError } from '../../src/commands/cert/acme-errors.js';
import { CertStore } from '../../src/commands/cert/store.js';
import { startPebble, type TestPebble } from '../support/cert-pebble.js';
import { testCertDeps } from '../support/cert-deps.js';
import { freePort } from '../support/ports.js';
import { missingTools } from '../support/tools.js';

const skip = missingTools('/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', 'openssl');
const setting = (_s: string, _k: string, flag: any, fallback?: any) => flag ?? fallback;
const opts = (extra: Record<string, any>) => resolveIssueOptions({ email: 'ops@opsctl.test', ...extra }, { setting } as any);

describe.skipIf(skip)('ACME failures a user meets, against Pebble and stand-ins', () => {
  let pebble: TestPebble;
  beforeAll(async () => {
    pebble = await startPebble();
  });
  afterAll(async () => {
    await pebble?.stop();
  });

  it('unauthorized: names the domain, the URL the CA fetched and what it got; nothing is stored; token removed', async () => {
    const webroot = await mkdtemp(path.join(os.tmpdir(), 'webroot-'));
    // A web server that serves something else at every path.
    const server = http.createServer((_q, s) => s.writeHead(200).end('wrong answer'));
    await new Promise<void>((r) => server.listen(pebble.httpPort, '127.0.0.1', r));
    try {
      const deps = await testCertDeps({ httpPort: pebble.httpPort });
      const err = await run(opts({ domain: ['bad.test'], webroot, directory: pebble.directoryUrl, caBundle: pebble.caBundle }), deps).catch((e) => e);
      expect(err).toMatchObject({ code: 'acme-unauthorized', exitCode: 1 });
      expect(err.message).toMatch(/^The CA could not validate bad\.test: it fetched http:\/\/bad\.test\/\.well-known\/acme-challenge\/[\w-]+ and got: .*wrong answer/);
      expect(err.message).not.toContain('\n');
      expect(err.hint).toContain('--webroot');
      expect(deps.logs.some((l) => l.startsWith('warning: self-check:') && l.includes('"wrong answer"'))).toBe(true);
      expect(await readdir(webroot)).toEqual([]);
      // certbot's empty live/ and archive/ may exist; no certificate in them
      expect((await readdir(deps.root)).sort()).toEqual(['.accounts', 'archive', 'live']);
      expect([...(await readdir(path.join(deps.root, 'live'))), ...(await readdir(path.join(deps.root, 'archive')))]).toEqual([]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('standalone on a port already taken: says so before contacting the CA', async () => {
    const blocker = http.createServer();
    await new Promise<void>((r) => blocker.listen(pebble.httpPort, '127.0.0.1', r));
    try {
      const deps = await testCertDeps();
      await expect(run(opts({ domain: ['busy.test'], standalone: true, httpPort: pebble.httpPort, directory: pebble.directoryUrl, caBundle: pebble.caBundle }), deps)).rejects.toMatchObject({
        code: 'standalone-listen',
        message: expect.stringContaining('EADDRINUSE'),
        hint: expect.stringContaining('--webroot'),
      });
      expect(await deps.store.list()).toEqual([]);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('a certificate store that cannot be written is reported before the CA is asked', async () => {
    const deps = await testCertDeps({ store: new CertStore('/dev/null/certs') });
    await expect(run(opts({ domain: ['store.test'], standalone: true, httpPort: pebble.httpPort, directory: 'https://127.0.0.1:1/never' }), deps)).rejects.toMatchObject({
      code: 'cert-store-unwritable',
      message: 'Cannot write to the certificate store /dev/null/certs: ENOTDIR.',
      hint: expect.stringContaining('--cert-dir'),
    });
  });

  it("an untrusted TLS certificate on the ACME API fails at once, pointing at --ca-bundle", async () => {
    const deps = await testCertDeps({ transport: { retryAttempts: 3, retryDelaySeconds: 5 } });
    const t0 = Date.now();
    await expect(run(opts({ domain: ['tls.test'], standalone: true, httpPort: pebble.httpPort, directory: pebble.directoryUrl }), deps)).rejects.toMatchObject({
      code: 'acme-tls',
      hint: expect.stringContaining('--ca-bundle'),
    });
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it("acme-client's TypeError (reading 'config') after its last retry becomes 'cannot reach' with the network error", async () => {
    const port = await freePort();
    const deps = await testCertDeps({ transport: { retryAttempts: 1, retryDelaySeconds: 0 } });
    const err = await run(opts({ domain: ['down.test'], standalone: true, httpPort: pebble.httpPort, directory: `https://127.0.0.1:${port}/dir` }), deps).catch((e) => e);
    expect(err).toMatchObject({ code: 'acme-unreachable', message: expect.stringMatching(/^Cannot reach the ACME server 127\.0\.0\.1:\d+: .*ECONNREFUSED/) });
    expect(err.cause).toBeInstanceOf(TypeError);
    expect(err.cause.message).toContain("reading 'config'");
    expect(translateAcmeError(new TypeError("Cannot read properties of undefined (reading 'config')"), { problems: [], networkError: { code: 'EPROTO', message: 'SSL routines::wrong version number' } }, { directoryUrl: 'https://acme.test/dir', domains: ['a.test'] })).toMatchObject({
      code: 'acme-tls',
      message: 'Cannot reach the ACME server acme.test: EPROTO: SSL routines::wrong version number.',
      hint: expect.stringContaining('does not speak TLS'),
    });
    const multi = translateAcmeError(new TypeError("Cannot read properties of undefined (reading 'config')"), { problems: [], networkError: { code: 'ECONNRESET', message: 'socket hang up\nmore' } }, { directoryUrl: 'https://acme.test/dir', domains: [] });
    expect(multi).toMatchObject({ code: 'acme-unreachable', message: 'Cannot reach the ACME server acme.test: ECONNRESET: socket hang up.' });
  });

  describe('problem documents from an ACME stand-in', () => {
    let server: http.Server;
    let url: string;
    let reply: { status: number; headers?: Record<string, string>; body: unknown };
    beforeAll(async () => {
      server = http.createServer((_q, s) => s.writeHead(reply.status, { 'Content-Type': 'application/problem+json', ...reply.headers }).end(JSON.stringify(reply.body)));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/directory`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    it('rateLimited: fails at once with the retry time instead of sleeping through Retry-After', async () => {
      reply = { status: 429, headers: { 'Retry-After': '3600' }, body: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many certificates (5) already issued for this exact set of domains in the last 168h0m0s' } };
      const deps = await testCertDeps({ now: () => new Date('2026-01-02T03:04:05Z') });
      const err = await run(opts({ domain: ['rl.test'], standalone: true, httpPort: pebble.httpPort, directory: url }), deps).catch((e) => e);
      expect(err).toMatchObject({ code: 'acme-rate-limited', hint: expect.stringContaining('--staging') });
      expect(err.message).toContain('too many certificates');
      expect(err.message).toMatch(/retry after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    });

    it('a URL that is not an ACME directory', async () => {
      reply = { status: 404, body: { message: 'not here' } };
      const deps = await testCertDeps();
      await expect(run(opts({ domain: ['nd.test'], standalone: true, httpPort: pebble.httpPort, directory: url }), deps)).rejects.toMatchObject({ code: 'acme-bad-directory', exitCode: 2 });
    });
  });

  it('translates the other problem types to one line with a hint', () => {
    const t = (type: string, detail: string, extra: Record<string, unknown> = {}) =>
      translateAcmeError(new Error(detail), { problems: [{ type: `urn:ietf:params:acme:error:${type}`, detail, ...extra }] }, { directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory', email: 'me@example.com', domains: ['example.org'], challenge: 'webroot', now: () => new Date('2026-01-01T00:00:00Z') });
    expect(t('caa', 'CAA record for example.org prevents issuance')).toMatchObject({ code: 'acme-caa', hint: expect.stringContaining('CAA 0 issue "letsencrypt.org"') });
    expect(t('dns', 'DNS problem: NXDOMAIN looking up A for example.org')).toMatchObject({ code: 'acme-dns', message: expect.stringContaining('NXDOMAIN'), hint: expect.stringContaining('A/AAAA') });
    expect(t('invalidContact', 'Error validating contact(s) :: contact email has forbidden domain "example.com"')).toMatchObject({ code: 'acme-bad-email', exitCode: 2, message: expect.stringContaining('me@example.com') });
    expect(t('userActionRequired', 'Terms of service have changed', { instance: 'https://letsencrypt.org/tos' })).toMatchObject({ code: 'acme-tos', hint: expect.stringContaining('https://letsencrypt.org/tos') });
    expect(t('rateLimited', 'too many failed authorizations', { retryAfter: '120' })).toMatchObject({ message: expect.stringContaining('retry after 2026-01-01T00:02:00Z') });
    expect(t('rejectedIdentifier', 'Invalid identifier')).toMatchObject({ code: 'acme-rejected-identifier', exitCode: 2 });
    for (const e of [t('caa', 'x'), t('dns', 'y\nz')]) expect(e.message).not.toContain('\n');
  });
});
