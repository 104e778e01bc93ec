import { readFile } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { OpsError } from '../../lib/errors.js';
import type { ChallengeItem, ChallengeSolver } from './acme.js';
import type { CertDeps } from './obtain.js';
import { waitForTxt } from './dns-rfc2136.js';
import { dnsRecordName } from './solvers.js';

/**
 * --dns cloudflare: TXT records through Cloudflare's v4 API with a scoped API
 * token (Zone:DNS:Edit): CLOUDFLARE_DNS_API_TOKEN / CF_DNS_API_TOKEN (lego's
 * names) or dns_cloudflare_api_token in the file CLOUDFLARE_CREDENTIALS names
 * (certbot-dns-cloudflare's). The records are then awaited on the zone's own
 * name servers, as the API lists them.
 */
interface CfResponse<T> {
  success: boolean;
  errors?: Array<{ code: number; message: string }>;
  result: T;
}

export async function cloudflareToken(env: NodeJS.ProcessEnv): Promise<string> {
  const direct = env.CLOUDFLARE_DNS_API_TOKEN ?? env.CF_DNS_API_TOKEN ?? env.CLOUDFLARE_API_TOKEN;
  if (direct) return direct;
  if (env.CLOUDFLARE_CREDENTIALS) {
    const text = await readFile(env.CLOUDFLARE_CREDENTIALS, 'utf8').catch(() => '');
    const m = /^\s*dns_cloudflare_api_token\s*=\s*(\S+)/m.exec(text);
    if (m) return m[1]!;
  }
  throw new OpsError('--dns cloudflare needs an API token.', { hint: 'create one with Zone:DNS:Edit and set CLOUDFLARE_DNS_API_TOKEN (or CLOUDFLARE_CREDENTIALS=FILE with dns_cloudflare_api_token = …)', exitCode: 2, code: 'cloudflare-token' });
}

export function cloudflareSolver(zoneIdSetting: string | undefined, deps: Pick<CertDeps, 'env' | 'log' | 'signal' | 'authoritativeServers'>, wait: { timeoutMs: number; intervalMs: number }): ChallengeSolver {
  const base = (deps.env.CLOUDFLARE_API_URL ?? 'https://api.cloudflare.com/client/v4').replace(/\/$/, '');
  let token: string | undefined;
  const created: Array<{ zone: string; id: string; name: string }> = [];
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    token ??= await cloudflareToken(deps.env);
    const res = await fetch(base + path, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    const json = (await res.json().catch(() => undefined)) as CfResponse<T> | undefined;
    if (!res.ok || !json?.success) {
      const why = json?.errors?.map((e) => `${e.code}: ${e.message}`).join('; ') || `HTTP ${res.status}`;
      throw new OpsError(`Cloudflare ${method} ${path.split('?')[0]} failed: ${why}`, {
        hint: res.status === 401 || res.status === 403 ? 'the token needs Zone:DNS:Edit on this zone' : undefined,
        code: 'cloudflare-failed',
      });
    }
    return json.result;
  };
  const zones = new Map<string, { id: string; nameServers: string[] }>();
  const zoneFor = async (name: string) => {
    const labels = name.split('.');
    for (let i = 1; i < labels.length - 1; i++) {
      const candidate = labels.slice(i).join('.');
      if (zones.has(candidate)) return zones.get(candidate)!;
      const found = await call<Array<{ id: string; name: string; name_servers?: string[] }>>('GET', `/zones?name=${encodeURIComponent(candidate)}`);
      const z = found.find((f) => f.name === candidate && (!zoneIdSetting || f.id === zoneIdSetting));
      if (z) {
        const entry = { id: z.id, nameServers: z.name_servers ?? [] };
        zones.set(candidate, entry);
        return entry;
      }
    }
    throw new OpsError(`No Cloudflare zone the token can see holds ${name}.`, { hint: 'check the token is scoped to that zone', code: 'cloudflare-no-zone' });
  };
  return {
    name: 'dns',
    challengeType: 'dns-01',
    batchSize: Infinity,
    async prepare() {
      await cloudflareToken(deps.env);
    },
    async present(items: ChallengeItem[]) {
      const servers = new Set<string>();
      for (const item of items) {
        const name = dnsRecordName(item);
        const zone = await zoneFor(name);
        const rec = await call<{ id: string }>('POST', `/zones/${zone.id}/dns_records`, { type: 'TXT', name, content: item.dnsValue, ttl: 120 });
        created.push({ zone: zone.id, id: rec.id, name });
        for (const s of deps.authoritativeServers ? await deps.authoritativeServers(zone.nameServers) : await addresses(zone.nameServers)) servers.add(s);
      }
      deps.log(`created ${items.length} TXT record(s) at Cloudflare; waiting for ${[...servers].join(', ') || 'its name servers'}`);
      if (servers.size) await waitForTxt(items.map((i) => ({ name: dnsRecordName(i), value: i.dnsValue })), [...servers], wait, deps.signal);
    },
    async cleanup() {
      const errors: unknown[] = [];
      for (const r of created.splice(0)) await call('DELETE', `/zones/${r.zone}/dns_records/${r.id}`).catch((e) => errors.push(e));
      if (errors.length) throw errors[0];
    },
  };
}

async function addresses(names: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const n of names) {
    const a = await lookup(n, { family: 4 }).catch(() => undefined);
    if (a) out.push(a.address);
  }
  return out;
}
