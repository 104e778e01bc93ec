import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { AdminCreateUserCommand, AdminSetUserPasswordCommand, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { startCognitoLocal, type CognitoLocal } from '../support/cognito-local.js';
import { ensureCognitoBuild } from '../support/cognito-build.js';
import { runBin } from '../support/cli.js';
import { run, fileJwksCache, httpFetchJwks, issuerFor, type Jwks } from '../../src/commands/cognito/token.js';
import { tmpDir } from './helpers.js';

let cl: CognitoLocal;
let poolId: string;
let clientId: string;
let idToken: string;
let accessToken: string;

beforeAll(async () => {
  ensureCognitoBuild();
  cl = await startCognitoLocal();
  poolId = await cl.createPool();
  clientId = await cl.createClient(poolId);
  await cl.client.send(new AdminCreateUserCommand({ UserPoolId: poolId, Username: 'ada@example.com', MessageAction: 'SUPPRESS', UserAttributes: [{ Name: 'email', Value: 'ada@example.com' }] }));
  await cl.client.send(new AdminSetUserPasswordCommand({ UserPoolId: poolId, Username: 'ada@example.com', Password: 'Correct-Horse-9', Permanent: true }));
  const auth = await cl.client.send(new InitiateAuthCommand({ ClientId: clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'ada@example.com', PASSWORD: 'Correct-Horse-9' } }));
  idToken = auth.AuthenticationResult!.IdToken!;
  accessToken = auth.AuthenticationResult!.AccessToken!;
});
afterAll(async () => {
  await cl?.stop();
});

const env = (home = tmpDir('opsctl-home-')) => ({ ...cl.env, HOME: home, XDG_STATE_HOME: '' });

describe('cognito token verify (built binary, cognito-local tokens)', () => {
  it('accepts an ID token for the right client and prints its claims', async () => {
    const r = await runBin(['cognito', 'token', 'verify', idToken, '--user-pool-id', poolId, '--client-id', clientId], { env: env() });
    expect(r.stderr).toMatch(/✓ valid id token for /);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^email: ada@example.com$/m);
    expect(r.stdout).toMatch(/^token_use: id$/m);
  });

  it('accepts an access token (client_id) and prints JSON with --json', async () => {
    const r = await runBin(['--json', 'cognito', 'token', 'verify', accessToken, '--user-pool-id', poolId, '--client-id', clientId, '--token-use', 'access'], { env: env() });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ valid: true, tokenUse: 'access', clientId, clientChecked: true, issuer: `${cl.endpoint}/${poolId}` });
    expect(doc.claims.client_id).toBe(clientId);
  });

  const rejected: Array<[string, () => string[], RegExp]> = [
    ['another app client', () => [idToken, '--client-id', 'someoneelse'], /issued to app client .* not someoneelse \(aud claim\)/],
    ['the wrong token_use', () => [accessToken, '--token-use', 'id'], /this is an access token, not an id token/],
    ['an altered token', () => { const [h, p, s] = idToken.split('.'); const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()); claims.email = 'mallory@example.com'; return [`${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`]; }, /signature does not match/],
    ['not a JWT', () => ['hello'], /not a JWT/],
    ['a token from another pool', () => [idToken, '--user-pool-id', 'local_Other123'], /issued by .*, not by pool local_Other123/],
  ];
  for (const [name, args, message] of rejected) {
    it(`exits 1 with the reason for ${name}`, async () => {
      const a = args();
      const r = await runBin(['cognito', 'token', 'verify', a[0]!, '--user-pool-id', poolId, ...a.slice(1)], { env: env() });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
  it('a pool id that is none is a usage error (exit 2, one line and a hint), checked before the token', async () => {
    for (const bad of ['bad', 'us-east-1_', 'us east 1_abc']) {
      const r = await runBin(['cognito', 'token', 'verify', 'not-a-token', '--user-pool-id', bad], { env: env() });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: ".*" is not a user pool id\.\nhint: pool ids look like/m);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      const j = await runBin(['--json', 'cognito', 'token', 'verify', 'not-a-token', '--user-pool-id', bad], { env: env() });
      expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'usage', exitCode: 2 });
    }
  });
});

describe('token verify run() with dependencies handed in', () => {
  it('rejects an expired token with its expiry time', async () => {
    const dir = tmpDir();
    const later = new Date(Date.now() + 48 * 3600_000);
    // aws-jwt-verify reads the clock itself: move Date (only) two days on.
    vi.useFakeTimers({ toFake: ['Date'], now: later });
    const err = await run({ token: idToken, userPoolId: poolId, endpoint: cl.endpoint }, { fetchJwks: httpFetchJwks(), cache: fileJwksCache(dir, () => later), now: () => later })
      .catch((e) => e)
      .finally(() => vi.useRealTimers());
    expect(err.code).toBe('token-invalid');
    expect(err.message).toMatch(/^Token rejected: expired at \d{4}-\d\d-\d\dT/);
  });

  it('caches the JWKS (0600) and refetches only for an unknown key', async () => {
    const dir = tmpDir();
    let fetches = 0;
    const real = httpFetchJwks();
    const fetchJwks = async (url: string): Promise<Jwks> => {
      fetches += 1;
      return real(url);
    };
    const deps = { fetchJwks, cache: fileJwksCache(dir, () => new Date()), now: () => new Date() };
    const first = await run({ token: idToken, userPoolId: poolId, endpoint: cl.endpoint }, deps);
    const second = await run({ token: accessToken, userPoolId: poolId, endpoint: cl.endpoint }, deps);
    expect([first.jwksFrom, second.jwksFrom, fetches]).toEqual(['network', 'cache', 1]);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(statSync(path.join(dir, files[0]!)).mode & 0o777).toBe(0o600);
    // A rotated key (cache holds a different kid) forces one refetch.
    await deps.cache.set(`${cl.endpoint}/${poolId}/.well-known/jwks.json`, { keys: [{ kid: 'old', kty: 'RSA', n: 'AQAB', e: 'AQAB' }] });
    const third = await run({ token: idToken, userPoolId: poolId, endpoint: cl.endpoint }, deps);
    expect([third.jwksFrom, fetches]).toEqual(['network', 2]);
  });

  it('an unreachable JWKS endpoint is a clear error', async () => {
    const dir = tmpDir();
    const err = await run({ token: idToken, userPoolId: poolId, endpoint: cl.endpoint }, { fetchJwks: httpFetchJwks(), cache: fileJwksCache(dir, () => new Date()), now: () => new Date() })
      .then(() => run({ token: idToken.replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'nope' })).toString('base64url')), userPoolId: poolId, endpoint: cl.endpoint }, { fetchJwks: httpFetchJwks(), cache: fileJwksCache(dir, () => new Date()), now: () => new Date() }))
      .catch((e) => e);
    expect(err.message).toMatch(/signed with key "nope", which pool .* does not publish/);
    const down = await httpFetchJwks()('http://127.0.0.1:1/x/.well-known/jwks.json').catch((e) => e);
    expect(down.code).toBe('jwks-unreachable');
    expect(down.message).toMatch(/Cannot fetch the pool's keys from http:\/\/127\.0\.0\.1:1/);
  });

  it('checks the app client and token_use as aws-jwt-verify does (tokens signed with our own key)', async () => {
    const jose = await import('jose');
    const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
    const jwks = { keys: [{ ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
    const endpoint = 'http://issuer.test';
    const pool = 'local_Own1';
    const sign = (claims: Record<string, unknown>, exp = true) => {
      const jwt = new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(`${endpoint}/${pool}`).setIssuedAt();
      return (exp ? jwt.setExpirationTime('1h') : jwt).sign(privateKey);
    };
    const memo = new Map<string, Jwks>();
    const deps = { fetchJwks: async () => jwks, cache: { get: async (u: string) => memo.get(u), set: async (u: string, j: Jwks) => void memo.set(u, j) }, now: () => new Date() };
    const check = async (token: string, clientId?: string) => run({ token, userPoolId: pool, endpoint, clientId }, deps).catch((e) => e);
    const checkAny = async (token: string, clientId: string[]) => run({ token, userPoolId: pool, endpoint, clientId }, deps).catch((e) => e);
    expect(await checkAny(await sign({ token_use: 'id', aud: 'my-app' }), ['other-app', 'my-app'])).toMatchObject({ valid: true, clientId: 'my-app', clientChecked: true });
    // Cognito's aud is one string; aws-jwt-verify (the reference) refuses a list, and so does opsctl.
    expect((await check(await sign({ token_use: 'id', aud: ['other-app', 'my-app'] }), 'my-app')).message).toMatch(/issued to app client other-app, my-app, not my-app \(aud claim\)/);
    expect((await check(await sign({ token_use: 'id', aud: 'other-app' }), 'my-app')).message).toMatch(/issued to app client other-app, not my-app \(aud claim\)/);
    expect((await check(await sign({ token_use: 'access', client_id: 'other-app' }), 'my-app')).message).toMatch(/not my-app \(client_id claim\)/);
    // aws-jwt-verify (the reference) checks exp only when present.
    expect(await check(await sign({ token_use: 'id', aud: 'my-app' }, false))).toMatchObject({ valid: true, expiresAt: undefined });
    expect((await check(await sign({ aud: 'my-app' }))).message).toMatch(/^Token rejected: token_use is null/);
    expect((await check(await sign({ token_use: 'refresh', aud: 'my-app' }))).message).toMatch(/token_use is "refresh"/);
  });

  it('real pools get the regional issuer', () => {
    expect(issuerFor('eu-west-1_AbC123')).toBe('https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123');
    expect(issuerFor('eusc-de-east-1_AbC123')).toBe('https://cognito-idp.eusc-de-east-1.amazonaws.com/eusc-de-east-1_AbC123');
    expect(() => issuerFor('nonsense')).toThrow(/is not a user pool id/);
  });
});
