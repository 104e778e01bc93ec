import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ExitCode, OpsError } from '../../lib/errors.js';

/**
 * A small Heroku Platform API v3 client: just the calls the cert commands
 * need (config vars, SNI endpoints, domains). The token comes from
 * HEROKU_API_KEY or the api.heroku.com entry of ~/.netrc (what `heroku login`
 * writes); it is never printed.
 */
export interface HerokuSniEndpoint {
  id: string;
  name: string;
  certificate_chain?: string;
  ssl_cert?: { cert_domains?: string[]; expires_at?: string };
  domains?: string[];
}
export interface HerokuDomain {
  id: string;
  hostname: string;
  kind: 'heroku' | 'custom';
  sni_endpoint: { id: string; name: string } | null;
  cname?: string | null;
}

export interface HerokuApi {
  getConfigVars(app: string): Promise<Record<string, string>>;
  setConfigVars(app: string, vars: Record<string, string | null>): Promise<void>;
  listSniEndpoints(app: string): Promise<HerokuSniEndpoint[]>;
  createSniEndpoint(app: string, body: { certificate_chain: string; private_key: string }): Promise<HerokuSniEndpoint>;
  updateSniEndpoint(app: string, id: string, body: { certificate_chain: string; private_key: string }): Promise<HerokuSniEndpoint>;
  listDomains(app: string): Promise<HerokuDomain[]>;
  createDomain(app: string, hostname: string, sniEndpoint: string): Promise<HerokuDomain>;
  linkDomain(app: string, hostname: string, sniEndpoint: string): Promise<HerokuDomain>;
}

export const HEROKU_API = 'https://api.heroku.com';

export async function herokuToken(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.HEROKU_API_KEY) return env.HEROKU_API_KEY;
  const netrc = path.join(env.HOME || os.homedir(), '.netrc');
  let text: string | undefined;
  try {
    text = await readFile(netrc, 'utf8');
  } catch {
    text = undefined;
  }
  const token = text ? netrcPassword(text, 'api.heroku.com') : undefined;
  if (token) return token;
  throw new OpsError('No Heroku API key found.', {
    hint: 'set HEROKU_API_KEY (e.g. from `heroku authorizations:create`) or run `heroku login`, which writes ~/.netrc',
    exitCode: ExitCode.USAGE,
    code: 'heroku-no-token',
  });
}

/** The password of `machine HOST` in a .netrc file. */
export function netrcPassword(text: string, host: string): string | undefined {
  const tokens = text.replace(/#.*$/gm, '').split(/\s+/).filter(Boolean);
  let current: string | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === 'machine') current = tokens[++i];
    else if (t === 'default') current = '';
    else if (t === 'password' && current === host) return tokens[i + 1];
    else if (t === 'password' && current === '') {
      // `default` entry: only if no machine entry matches later.
      const later = netrcPasswordStrict(tokens.slice(i + 2), host);
      return later ?? tokens[i + 1];
    }
  }
  return undefined;
}

function netrcPasswordStrict(tokens: string[], host: string): string | undefined {
  let current: string | undefined;
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === 'machine') current = tokens[++i];
    else if (tokens[i] === 'password' && current === host) return tokens[i + 1];
  }
  return undefined;
}

export function createHerokuApi(opts: { token: string; baseUrl?: string; fetch?: typeof fetch }): HerokuApi {
  const base = (opts.baseUrl ?? HEROKU_API).replace(/\/$/, '');
  const doFetch = opts.fetch ?? fetch;
  const call = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await doFetch(base + p, {
        method,
        headers: {
          Accept: 'application/vnd.heroku+json; version=3',
          Authorization: `Bearer ${opts.token}`,
          'Content-Type': 'application/json',
          'User-Agent': 'opsctl',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new OpsError(`Cannot reach the Heroku API at ${base}: ${cause}.`, { hint: 'check the network connection', code: 'heroku-unreachable', cause: err });
    }
    const text = await res.text();
    let data: any;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!res.ok) throw herokuError(res.status, data, method, p);
    return data as T;
  };
  const enc = encodeURIComponent;
  return {
    getConfigVars: (app) => call('GET', `/apps/${enc(app)}/config-vars`),
    async setConfigVars(app, vars) {
      await call('PATCH', `/apps/${enc(app)}/config-vars`, vars);
    },
    listSniEndpoints: (app) => call('GET', `/apps/${enc(app)}/sni-endpoints`),
    createSniEndpoint: (app, body) => call('POST', `/apps/${enc(app)}/sni-endpoints`, body),
    updateSniEndpoint: (app, id, body) => call('PATCH', `/apps/${enc(app)}/sni-endpoints/${enc(id)}`, body),
    listDomains: (app) => call('GET', `/apps/${enc(app)}/domains`),
    createDomain: (app, hostname, sni) => call('POST', `/apps/${enc(app)}/domains`, { hostname, sni_endpoint: sni }),
    linkDomain: (app, hostname, sni) => call('PATCH', `/apps/${enc(app)}/domains/${enc(hostname)}`, { sni_endpoint: sni }),
  };
}

function herokuError(status: number, data: { id?: string; message?: string } | undefined, method: string, p: string): OpsError {
  const said = data?.message ? `: ${data.message.replace(/\s+/g, ' ').trim()}` : '';
  const app = /^\/apps\/([^/]+)/.exec(p)?.[1];
  switch (status) {
    case 401:
      return new OpsError(`Heroku rejected the API key (401 ${data?.id ?? 'unauthorized'})${said}`, {
        hint: 'the key is wrong or expired: run `heroku login` or set HEROKU_API_KEY to a valid token',
        code: 'heroku-unauthorized',
      });
    case 403:
      return new OpsError(`Heroku refused ${method} ${p} (403 ${data?.id ?? 'forbidden'})${said}`, { hint: 'your account lacks access to this app (or the action needs a paid dyno tier)', code: 'heroku-forbidden' });
    case 404:
      return new OpsError(`Heroku found nothing at ${method} ${p} (404)${said}`, {
        hint: app ? `check the app name (\`heroku apps\`), currently "${decodeURIComponent(app)}"` : undefined,
        exitCode: ExitCode.USAGE,
        code: 'heroku-not-found',
      });
    case 422:
      return new OpsError(`Heroku could not process ${method} ${p} (422 ${data?.id ?? 'invalid_params'})${said}`, {
        hint: /sni|ssl|certificate/i.test(said) ? 'SNI endpoints need a paid dyno type and a certificate whose key matches' : 'see the message above',
        code: 'heroku-unprocessable',
      });
    case 429:
      return new OpsError(`Heroku rate-limited the API calls (429)${said}`, { hint: 'wait a few minutes and try again', code: 'heroku-rate-limited' });
    default:
      return new OpsError(`Heroku API ${method} ${p} failed with HTTP ${status}${said}`, { hint: 'check https://status.heroku.com', code: 'heroku-failed' });
  }
}
