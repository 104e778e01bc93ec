/**
 * opsctl's token verdicts against aws-jwt-verify's, AWS's own library, on
 * tokens signed with a local key for real pool ids of every partition and both
 * issuer configurations (regional and the updated issuer-cognito-idp one).
 * Both sides get the same JWKS; neither goes to the network.
 */
import { describe, expect, it } from 'vitest';
import * as jose from 'jose';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import { run, type Jwks } from '../../src/commands/cognito/token.js';

const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
const other = await jose.generateKeyPair('RS256', { extractable: true });
const jwks: Jwks = { keys: [{ ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };

interface Case {
  name: string;
  pool: string;
  clientId?: string | string[];
  tokenUse?: 'id' | 'access';
  token: () => Promise<string>;
}

const now = () => Math.floor(Date.now() / 1000);
const regional = (pool: string) => `https://cognito-idp.${pool.split('_')[0]}.amazonaws.com/${pool}`;
const updated = (pool: string) => `https://issuer-cognito-idp.${pool.split('_')[0]}.amazonaws.com/${pool}`;
type Key = typeof privateKey | Uint8Array;
const sign = (claims: Record<string, unknown>, opts: { key?: Key; kid?: string; alg?: string } = {}) =>
  new jose.SignJWT(claims).setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? 'k1' }).sign(opts.key ?? privateKey);
const idClaims = (pool: string, iss = regional(pool)) => ({ iss, sub: 'u-1', aud: 'app1', token_use: 'id', exp: now() + 3600, iat: now(), 'cognito:username': 'ada', email: 'ada@example.com' });
const accessClaims = (pool: string, iss = regional(pool)) => ({ iss, sub: 'u-1', client_id: 'app1', token_use: 'access', exp: now() + 3600, iat: now(), scope: 'aws.cognito.signin.user.admin', username: 'ada' });

const pools = ['eu-west-1_AbC123', 'us-east-1_Xyz789', 'eusc-de-east-1_AbC123', 'us-gov-west-1_Gov42', 'cn-north-1_China1', 'ap-southeast-2_Syd1'];
const cases: Case[] = [];
for (const pool of pools) {
  cases.push(
    { name: `${pool}: id token, regional issuer`, pool, clientId: 'app1', token: () => sign(idClaims(pool)) },
    { name: `${pool}: id token, updated issuer`, pool, clientId: 'app1', token: () => sign(idClaims(pool, updated(pool))) },
    { name: `${pool}: access token, updated issuer`, pool, clientId: 'app1', tokenUse: 'access', token: () => sign(accessClaims(pool, updated(pool))) },
  );
}
const pool = 'eu-west-1_AbC123';
cases.push(
  { name: 'wrong app client', pool, clientId: 'other', token: () => sign(idClaims(pool)) },
  { name: 'one of several app clients', pool, clientId: ['other', 'app1'], token: () => sign(idClaims(pool)) },
  { name: 'no client check', pool, token: () => sign(idClaims(pool)) },
  { name: 'access token where id is required', pool, tokenUse: 'id', token: () => sign(accessClaims(pool)) },
  { name: 'expired', pool, token: () => sign({ ...idClaims(pool), exp: now() - 60 }) },
  { name: 'not yet valid', pool, token: () => sign({ ...idClaims(pool), nbf: now() + 600 }) },
  { name: 'no exp claim', pool, token: () => sign({ ...idClaims(pool), exp: undefined }) },
  { name: 'another pool (same region)', pool, token: () => sign(idClaims('eu-west-1_Other1')) },
  { name: 'another region, updated issuer', pool, token: () => sign(idClaims(pool, `https://issuer-cognito-idp.us-east-1.amazonaws.com/${pool}`)) },
  { name: 'signed by another key with our kid', pool, token: () => sign(idClaims(pool), { key: other.privateKey }) },
  { name: 'altered payload', pool, token: async () => { const [h, , s] = (await sign(idClaims(pool))).split('.'); return `${h}.${Buffer.from(JSON.stringify({ ...idClaims(pool), sub: 'mallory' })).toString('base64url')}.${s}`; } },
  { name: 'refresh-like token_use', pool, token: () => sign({ ...idClaims(pool), token_use: 'refresh' }) },
  { name: 'aud list', pool, clientId: 'app1', token: () => sign({ ...idClaims(pool), aud: ['x', 'app1'] }) },
  { name: 'unknown kid', pool, token: () => sign(idClaims(pool), { kid: 'k2' }) },
  { name: 'HS256 signature (key confusion)', pool, token: () => sign(idClaims(pool), { alg: 'HS256', key: new TextEncoder().encode('a-shared-secret-of-32-bytes-long!') }) },
  { name: 'not a JWT', pool, token: async () => 'not.a.jwt' },
);

async function reference(c: Case, token: string): Promise<boolean> {
  const verifier = CognitoJwtVerifier.create({ userPoolId: c.pool, tokenUse: c.tokenUse ?? null, clientId: c.clientId ?? null });
  verifier.cacheJwks(jwks as never);
  return verifier.verify(token).then(
    () => true,
    () => false,
  );
}

async function ours(c: Case, token: string): Promise<boolean> {
  const memo = new Map<string, Jwks>();
  const deps = { fetchJwks: async () => jwks, cache: { get: async (u: string) => memo.get(u), set: async (u: string, j: Jwks) => void memo.set(u, j) }, now: () => new Date() };
  return run({ token, userPoolId: c.pool, clientId: c.clientId, tokenUse: c.tokenUse }, deps).then(
    () => true,
    (err) => {
      expect(err.code).toBe('token-invalid');
      expect(err.message).toMatch(/^Token rejected: /);
      return false;
    },
  );
}

describe('token verdicts match aws-jwt-verify', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const token = await c.token();
      expect(await ours(c, token)).toBe(await reference(c, token));
    });
  }

  it('both accept and both reject somewhere (the cases are not one-sided)', async () => {
    const verdicts = await Promise.all(cases.map(async (c) => reference(c, await c.token())));
    expect(verdicts.filter(Boolean).length).toBeGreaterThan(10);
    expect(verdicts.filter((v) => !v).length).toBeGreaterThan(8);
  });
});
