import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * Cloudflare's v4 API for DNS records (zones?name=, dns_records POST/DELETE),
 * envelope and errors as documented ({success, errors, result}), with a
 * Bearer token. Created TXT records are handed to `serve` (challtestsrv), so
 * Pebble sees them as it would Cloudflare's name servers.
 */
export interface CloudflareStandIn {
  apiUrl: string;
  token: string;
  zoneId: string;
  records: Map<string, { type: string; name: string; content: string }>;
  requests: Array<{ method: string; path: string }>;
  stop(): Promise<void>;
}

export async function startCloudflare(zone: string, serve: { setTxt(host: string, value: string): Promise<void>; clearTxt(host: string): Promise<void> }): Promise<CloudflareStandIn> {
  const token = 'cf-' + randomUUID();
  const zoneId = randomUUID().replace(/-/g, '');
  const records = new Map<string, { type: string; name: string; content: string }>();
  const requests: CloudflareStandIn['requests'] = [];
  const send = (res: http.ServerResponse, status: number, result: unknown, errors: Array<{ code: number; message: string }> = []) =>
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ success: status < 400, errors, messages: [], result }));
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d) => (body += d));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push({ method: req.method ?? '', path: url.pathname + url.search });
      if (req.headers.authorization !== `Bearer ${token}`) return send(res, 403, null, [{ code: 10000, message: 'Authentication error' }]);
      const p = url.pathname.replace(/^\/client\/v4/, '');
      if (req.method === 'GET' && p === '/zones') {
        const name = url.searchParams.get('name');
        return send(res, 200, name === zone ? [{ id: zoneId, name: zone, status: 'active', name_servers: ['ada.ns.cloudflare.com', 'bob.ns.cloudflare.com'] }] : []);
      }
      const m = /^\/zones\/([^/]+)\/dns_records(?:\/([^/]+))?$/.exec(p);
      if (!m || m[1] !== zoneId) return send(res, 404, null, [{ code: 7003, message: 'Could not route to ' + p }]);
      if (req.method === 'POST' && !m[2]) {
        const rec = JSON.parse(body) as { type: string; name: string; content: string };
        if (rec.type !== 'TXT' || !rec.name.endsWith(zone)) return send(res, 400, null, [{ code: 9000, message: 'DNS name is invalid' }]);
        const id = randomUUID().replace(/-/g, '');
        records.set(id, rec);
        await serve.setTxt(rec.name, rec.content);
        return send(res, 200, { id, ...rec, zone_id: zoneId });
      }
      if (req.method === 'DELETE' && m[2]) {
        const rec = records.get(m[2]);
        if (!rec) return send(res, 404, null, [{ code: 81044, message: 'Record does not exist.' }]);
        records.delete(m[2]);
        await serve.clearTxt(rec.name);
        return send(res, 200, { id: m[2] });
      }
      return send(res, 405, null, [{ code: 10405, message: 'Method not allowed' }]);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`,
    token,
    zoneId,
    records,
    requests,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
