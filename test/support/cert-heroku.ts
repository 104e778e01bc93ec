import http from 'node:http';
import { X509Certificate, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A Heroku Platform API v3 stand-in (config vars, SNI endpoints, domains)
 * plus the app itself: an HTTP server that, like the write-up's Rails route,
 * answers /.well-known/acme-challenge/:id with LETSENCRYPT_CHALLENGE when :id
 * equals LETSENCRYPT_KEY — but only after a simulated restart delay.
 */
export interface HerokuStandIn {
  apiUrl: string;
  token: string;
  appName: string;
  configVars: Record<string, string>;
  sniEndpoints: Array<{ id: string; name: string; certificate_chain: string; private_key_seen: boolean; ssl_cert: { cert_domains: string[] } }>;
  domains: Array<{ id: string; hostname: string; kind: 'heroku' | 'custom'; sni_endpoint: { id: string; name: string } | null; cname: string | null }>;
  requests: Array<{ method: string; path: string; body?: any }>;
  /** Make the next matching request fail with this status and body. */
  failNext(method: string, pathPrefix: string, status: number, body: unknown): void;
  /** Challenge requests the app received. */
  appHits: string[];
  /** Config var history (what was set, in order). */
  configHistory: Array<Record<string, string | null>>;
  stop(): Promise<void>;
}

export async function startHeroku(opts: { appPort?: number; restartDelayMs?: number; appName?: string; serveChallenge?: boolean } = {}): Promise<HerokuStandIn> {
  const token = 'heroku-test-token-' + randomUUID();
  const appName = opts.appName ?? 'my-app';
  const state: Omit<HerokuStandIn, 'apiUrl' | 'stop' | 'failNext'> = {
    token,
    appName,
    configVars: { DATABASE_URL: 'postgres://x' },
    sniEndpoints: [],
    domains: [{ id: randomUUID(), hostname: `${appName}.herokuapp.com`, kind: 'heroku', sni_endpoint: null, cname: null }],
    requests: [],
    appHits: [],
    configHistory: [],
  };
  const failures: Array<{ method: string; prefix: string; status: number; body: unknown }> = [];
  // What the running dynos see: config changes apply after the "restart".
  let live: Record<string, string> = { ...state.configVars };
  const timers = new Set<NodeJS.Timeout>();

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };
  const api = http.createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const body = raw ? JSON.parse(raw) : undefined;
    const p = req.url!.split('?')[0]!;
    state.requests.push({ method: req.method!, path: p, body });
    if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { id: 'unauthorized', message: 'Invalid credentials provided.' });
    if (!String(req.headers.accept).includes('application/vnd.heroku+json; version=3')) return send(res, 400, { id: 'bad_request', message: 'Accept header must request version=3' });
    const fi = failures.findIndex((f) => f.method === req.method && p.startsWith(f.prefix));
    if (fi >= 0) {
      const [f] = failures.splice(fi, 1);
      return send(res, f!.status, f!.body);
    }
    const m = /^\/apps\/([^/]+)\/(config-vars|sni-endpoints|domains)(?:\/([^/]+))?$/.exec(p);
    if (!m || decodeURIComponent(m[1]!) !== appName) return send(res, 404, { id: 'not_found', message: "Couldn't find that app." });
    const [, , kind, idRaw] = m;
    const id = idRaw ? decodeURIComponent(idRaw) : undefined;
    if (kind === 'config-vars' && req.method === 'PATCH') {
      state.configHistory.push(body);
      for (const [k, v] of Object.entries(body as Record<string, string | null>)) {
        if (v === null) delete state.configVars[k];
        else state.configVars[k] = v;
      }
      const snapshot = { ...state.configVars };
      const t = setTimeout(() => {
        timers.delete(t);
        live = snapshot;
      }, opts.restartDelayMs ?? 300);
      timers.add(t);
      return send(res, 200, state.configVars);
    }
    if (kind === 'config-vars' && req.method === 'GET') return send(res, 200, state.configVars);
    if (kind === 'sni-endpoints') {
      const view = (e: HerokuStandIn['sniEndpoints'][number]) => ({ id: e.id, name: e.name, certificate_chain: e.certificate_chain, ssl_cert: e.ssl_cert, domains: state.domains.filter((d) => d.sni_endpoint?.id === e.id).map((d) => d.id) });
      if (req.method === 'GET' && !id) return send(res, 200, state.sniEndpoints.map(view));
      if (req.method === 'POST' && !id) {
        if (!body?.certificate_chain?.includes('BEGIN CERTIFICATE') || !body?.private_key?.includes('PRIVATE KEY')) return send(res, 422, { id: 'invalid_params', message: 'Certificate chain and private key are required.' });
        const e = { id: randomUUID(), name: `tokyo-${state.sniEndpoints.length + 1}`, certificate_chain: body.certificate_chain, private_key_seen: true, ssl_cert: { cert_domains: certDomains(body.certificate_chain) } };
        state.sniEndpoints.push(e);
        return send(res, 201, view(e));
      }
      if (req.method === 'PATCH' && id) {
        const e = state.sniEndpoints.find((x) => x.id === id || x.name === id);
        if (!e) return send(res, 404, { id: 'not_found', message: "Couldn't find that SNI endpoint." });
        e.certificate_chain = body.certificate_chain;
        e.ssl_cert = { cert_domains: certDomains(body.certificate_chain) };
        return send(res, 200, view(e));
      }
    }
    if (kind === 'domains') {
      if (req.method === 'GET' && !id) return send(res, 200, state.domains);
      const sni = (sid: string | null) => {
        const e = state.sniEndpoints.find((x) => x.id === sid || x.name === sid);
        return e ? { id: e.id, name: e.name } : null;
      };
      if (req.method === 'POST' && !id) {
        const d = { id: randomUUID(), hostname: body.hostname, kind: 'custom' as const, sni_endpoint: sni(body.sni_endpoint), cname: `${body.hostname.replace(/\W/g, '-')}.herokudns.com` };
        state.domains.push(d);
        return send(res, 201, d);
      }
      if (req.method === 'PATCH' && id) {
        const d = state.domains.find((x) => x.hostname === id || x.id === id);
        if (!d) return send(res, 404, { id: 'not_found', message: "Couldn't find that domain." });
        d.sni_endpoint = sni(body.sni_endpoint);
        return send(res, 200, d);
      }
    }
    return send(res, 404, { id: 'not_found', message: 'Not found.' });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));

  let app: http.Server | undefined;
  if (opts.appPort) {
    app = http.createServer((req, res) => {
      const m = /^\/\.well-known\/acme-challenge\/([^/?]+)/.exec(req.url ?? '');
      state.appHits.push(req.url ?? '');
      if (m && opts.serveChallenge !== false && live.LETSENCRYPT_KEY && m[1] === live.LETSENCRYPT_KEY) {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end(live.LETSENCRYPT_CHALLENGE);
      } else {
        res.writeHead(404, { 'Content-Type': 'text/html' }).end('<h1>Not Found</h1>');
      }
    });
    await new Promise<void>((r) => app!.listen(opts.appPort, '127.0.0.1', r));
  }
  return Object.assign(state, {
    apiUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    failNext(method: string, prefix: string, status: number, body: unknown) {
      failures.push({ method, prefix, status, body });
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      for (const s of [api, app]) {
        if (!s) continue;
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    },
  });
}

function certDomains(chain: string): string[] {
  const first = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  if (!first) return [];
  return (new X509Certificate(first).subjectAltName ?? '').split(',').map((s) => s.trim()).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
}
