import https from 'node:https';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { TestPebble } from './cert-pebble.js';

/**
 * Pebble 2.4 has neither ARI (RFC 9773) nor profiles: this HTTPS stand-in in
 * front of it adds `renewalInfo` and `meta.profiles` to the directory, serves
 * renewal windows, and records what new orders ask for (`profile`,
 * `replaces`). Everything else is forwarded with the Host header kept, so
 * Pebble's URLs (and the JWS `url` it checks) name the proxy.
 */
export interface AriProxy {
  directoryUrl: string;
  /** newOrder payloads, decoded. */
  orders: Array<{ identifiers: Array<{ type: string; value: string }>; profile?: string; replaces?: string }>;
  /** CertIDs asked about. */
  renewalInfoAsked: string[];
  /** The window to answer for a CertID (undefined → 404). */
  window: (certId: string) => { start: string; end: string } | undefined;
  retryAfter?: string;
  profiles: Record<string, string>;
  /** Answer this many of the next POSTs with 503 (a CA having a bad moment), or every one with Infinity. */
  failPosts: number;
  stop(): Promise<void>;
}

export async function startAriProxy(pebble: TestPebble, opts: { profiles?: Record<string, string> } = {}): Promise<AriProxy> {
  const [cert, key, ca] = await Promise.all([readFile(`${pebble.dir}/cert.pem`), readFile(`${pebble.dir}/key.pem`), readFile(pebble.caBundle)]);
  const upstream = new URL(pebble.directoryUrl);
  const state: Omit<AriProxy, 'directoryUrl' | 'stop'> = {
    orders: [],
    renewalInfoAsked: [],
    window: () => undefined,
    failPosts: 0,
    profiles: opts.profiles ?? { classic: 'The same profile you know and love', shortlived: 'A short-lived certificate profile' },
  };
  let base = '';
  const server = https.createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = req.url ?? '/';
      if (req.method === 'GET' && url.startsWith('/renewal-info/')) {
        const id = decodeURIComponent(url.slice('/renewal-info/'.length));
        state.renewalInfoAsked.push(id);
        const w = state.window(id);
        if (!w) return void res.writeHead(404, { 'Content-Type': 'application/problem+json' }).end(JSON.stringify({ type: 'urn:ietf:params:acme:error:malformed', detail: 'unknown certificate' }));
        return void res.writeHead(200, { 'Content-Type': 'application/json', ...(state.retryAfter ? { 'Retry-After': state.retryAfter } : {}) }).end(JSON.stringify({ suggestedWindow: w }));
      }
      if (req.method === 'POST' && state.failPosts > 0) {
        state.failPosts -= 1;
        return void res.writeHead(503, { 'Content-Type': 'application/problem+json' }).end(JSON.stringify({ type: 'urn:ietf:params:acme:error:serverInternal', detail: 'unavailable' }));
      }
      if (req.method === 'POST' && body.length) {
        try {
          const jws = JSON.parse(body.toString('utf8'));
          const payload = jws.payload ? JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) : undefined;
          if (payload && Array.isArray(payload.identifiers)) state.orders.push(payload);
        } catch {
          /* not JSON: forwarded as it is */
        }
      }
      const fwd = https.request(
        { host: upstream.hostname, port: upstream.port, path: url, method: req.method, headers: { ...req.headers, host: req.headers.host }, ca, servername: 'localhost' },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            let out = Buffer.concat(parts);
            const headers = { ...up.headers };
            if (req.method === 'GET' && url === upstream.pathname) {
              const dir = JSON.parse(out.toString('utf8'));
              dir.renewalInfo = `${base}/renewal-info`;
              dir.meta = { ...dir.meta, profiles: state.profiles };
              out = Buffer.from(JSON.stringify(dir));
            }
            delete headers['content-length'];
            delete headers['transfer-encoding'];
            res.writeHead(up.statusCode ?? 502, { ...headers, 'content-length': out.length }).end(out);
          });
        },
      );
      fwd.on('error', (e) => res.writeHead(502).end(String(e)));
      fwd.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const proxy = Object.assign(state, {
    directoryUrl: `${base}${upstream.pathname}`,
    stop: () => new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
  }) as AriProxy;
  return proxy;
}
