import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Route 53 stand-in speaking its REST-XML wire protocol (ListHostedZones,
 * ChangeResourceRecordSets, GetChange) for the real SDK client. TXT changes
 * are written into pebble-challtestsrv, so Pebble's DNS-01 validation reads
 * them. A change is PENDING on its first GetChange and INSYNC after.
 */
export interface Route53StandIn {
  endpoint: string;
  zones: Array<{ id: string; name: string; private?: boolean }>;
  /** Current TXT records by name (without trailing dot). */
  records: Map<string, string[]>;
  changes: Array<{ zone: string; action: string; name: string; values: string[] }>;
  getChangeCalls: number;
  stop(): Promise<void>;
}

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';

export async function startRoute53(dns: { setTxt(host: string, v: string): Promise<void>; clearTxt(host: string): Promise<void> }, zones: Route53StandIn['zones']): Promise<Route53StandIn> {
  const state = { zones, records: new Map<string, string[]>(), changes: [] as Route53StandIn['changes'], getChangeCalls: 0 };
  const polled = new Map<string, number>();
  let changeSeq = 0;
  const xml = (res: http.ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': 'req-' + Date.now() }).end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  };
  const error = (res: http.ServerResponse, status: number, code: string, message: string) =>
    xml(res, status, `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r</RequestId></ErrorResponse>`);
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    const url = new URL(req.url!, 'http://x');
    if (!req.headers.authorization?.startsWith('AWS4-HMAC-SHA256')) return error(res, 403, 'MissingAuthenticationToken', 'no signature');
    if (req.method === 'GET' && url.pathname === '/2013-04-01/hostedzone') {
      const items = state.zones
        .map((z) => `<HostedZone><Id>/hostedzone/${z.id}</Id><Name>${z.name}</Name><CallerReference>x</CallerReference><Config><PrivateZone>${z.private ? 'true' : 'false'}</PrivateZone></Config><ResourceRecordSetCount>2</ResourceRecordSetCount></HostedZone>`)
        .join('');
      return xml(res, 200, `<ListHostedZonesResponse xmlns="${NS}"><HostedZones>${items}</HostedZones><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListHostedZonesResponse>`);
    }
    const rr = /^\/2013-04-01\/hostedzone\/([^/]+)\/rrset\/?$/.exec(url.pathname);
    if (req.method === 'POST' && rr) {
      const zone = state.zones.find((z) => z.id === rr[1]);
      if (!zone) return error(res, 404, 'NoSuchHostedZone', `No hosted zone found with ID: ${rr[1]}`);
      const changes = [...body.matchAll(/<Change>([\s\S]*?)<\/Change>/g)].map((m) => ({
        action: /<Action>(\w+)<\/Action>/.exec(m[1]!)![1]!,
        name: /<Name>([^<]+)<\/Name>/.exec(m[1]!)![1]!.replace(/\.$/, ''),
        type: /<Type>(\w+)<\/Type>/.exec(m[1]!)![1]!,
        values: [...m[1]!.matchAll(/<Value>([^<]*)<\/Value>/g)].map((v) => v[1]!.replace(/&quot;/g, '"')),
      }));
      for (const c of changes) {
        if (!(c.name + '.').endsWith(zone.name)) return error(res, 400, 'InvalidChangeBatch', `RRSet with DNS name ${c.name}. is not permitted in zone ${zone.name}`);
        if (c.action === 'DELETE' && JSON.stringify(state.records.get(c.name) ?? []) !== JSON.stringify(c.values)) {
          return error(res, 400, 'InvalidChangeBatch', `Tried to delete resource record set [name='${c.name}.', type='${c.type}'] but the values provided do not match the current values`);
        }
      }
      for (const c of changes) {
        state.changes.push({ zone: zone.id, action: c.action, name: c.name, values: c.values });
        await dns.clearTxt(c.name);
        if (c.action === 'DELETE') state.records.delete(c.name);
        else {
          state.records.set(c.name, c.values);
          for (const v of c.values) await dns.setTxt(c.name, v.replace(/^"|"$/g, ''));
        }
      }
      const id = `C${String(++changeSeq).padStart(10, '0')}`;
      return xml(res, 200, `<ChangeResourceRecordSetsResponse xmlns="${NS}"><ChangeInfo><Id>/change/${id}</Id><Status>PENDING</Status><SubmittedAt>${new Date().toISOString()}</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`);
    }
    const ch = /^\/2013-04-01\/change\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && ch) {
      state.getChangeCalls += 1;
      const n = (polled.get(ch[1]!) ?? 0) + 1;
      polled.set(ch[1]!, n);
      return xml(res, 200, `<GetChangeResponse xmlns="${NS}"><ChangeInfo><Id>/change/${ch[1]}</Id><Status>${n > 1 ? 'INSYNC' : 'PENDING'}</Status><SubmittedAt>${new Date().toISOString()}</SubmittedAt></ChangeInfo></GetChangeResponse>`);
    }
    return error(res, 404, 'NotFound', `${req.method} ${url.pathname}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(state, {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  });
}
